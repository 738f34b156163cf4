// The one place where errors of the libraries (queue, pipeline, build
// runners) become tRPC errors. init.ts applies it to every procedure as a
// middleware, so a router just calls the library and lets errors fly: a
// caller's mistake comes back with its code and message, anything else as
// INTERNAL_SERVER_ERROR with a generic sentence (the detail goes to the log,
// never to the browser: it may name tables, hosts or file paths).
import { TRPCError } from "@trpc/server";
import { errorOutcome } from "@/server/error-outcomes";
import { createLogger, errorMessage, type Logger } from "@/server/log";

export const INTERNAL_ERROR_MESSAGE = "Something went wrong on the server; the details are in its log.";

type Code = TRPCError["code"];

/** The tRPC code of a library error (a CodedError, per ERROR_OUTCOMES); undefined for anything else. */
export function libraryErrorCode(err: unknown): Code | undefined {
  return errorOutcome(err)?.outcome.trpc;
}

// Errors this module has logged already, so the HTTP handler does not log them twice.
const reported = new WeakSet<TRPCError>();

export function isReported(err: TRPCError): boolean {
  return reported.has(err);
}

const defaultLog = createLogger({ in: "trpc" });

/**
 * What the caller gets for an error a procedure ended with. TRPCErrors a
 * router threw on purpose (NOT_FOUND, …) and input validation errors
 * (BAD_REQUEST with the ZodError as cause) pass through; tRPC wraps anything
 * else as INTERNAL_SERVER_ERROR with the original as `cause`, which is mapped
 * here.
 */
export function toPublicError(
  err: TRPCError,
  where: { path: string; type: string },
  log: Logger = defaultLog,
): TRPCError {
  if (err.code !== "INTERNAL_SERVER_ERROR") return err;
  const cause = err.cause;
  const code = libraryErrorCode(cause);
  if (code && code !== "INTERNAL_SERVER_ERROR") {
    return new TRPCError({ code, message: errorMessage(cause), cause });
  }
  log.error("procedure failed", {
    path: where.path,
    type: where.type,
    error: cause?.name ?? err.name,
    reason: errorMessage(cause ?? err),
    stack: (cause ?? err).stack,
  });
  const generic = new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: INTERNAL_ERROR_MESSAGE,
    cause: cause ?? err,
  });
  reported.add(generic);
  return generic;
}
