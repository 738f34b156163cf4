// The one place where errors of the libraries (queue, pipeline, build
// runners) become tRPC errors. init.ts applies it to every procedure as a
// middleware, so a router just calls the library and lets errors fly: a
// caller's mistake comes back with its code and message, anything else as
// INTERNAL_SERVER_ERROR with a generic sentence (the detail goes to the log,
// never to the browser: it may name tables, hosts or file paths).
import { TRPCError } from "@trpc/server";
import { createLogger, errorMessage, type Logger } from "../log";
import type { AuthError, AuthErrorCode } from "../auth/errors";
import type { QueueError, QueueErrorCode } from "../queue";

export const INTERNAL_ERROR_MESSAGE = "Something went wrong on the server; the details are in its log.";

type Code = TRPCError["code"];

const QUEUE_CODES: Record<QueueErrorCode, Code> = {
  INVALID_ARGUMENT: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  ALREADY_SETTLED: "CONFLICT",
  DELIVERY_EXPIRED: "CONFLICT",
  CLOSED: "INTERNAL_SERVER_ERROR",
};

// UnknownBuildError (buildrunner/types), UnknownBatchError and NoRunnerError
// (pipeline/errors), QueueError (queue/errors) and AuthError (auth/errors) are recognised by the `name`
// each class sets, not by instanceof: Next.js bundles a module into each route
// that imports it, and the pipeline kept on globalThis may have been opened by
// another route than the one catching its error (another copy of the class).
// Literal strings, because a minifier may rename classes.
const NAMED_CODES: Record<string, Code> = {
  UnknownBuildError: "NOT_FOUND",
  UnknownBatchError: "NOT_FOUND",
  NoRunnerError: "BAD_REQUEST",
};
const AUTH_CODES: Record<AuthErrorCode, Code> = {
  INVALID_ARGUMENT: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  UNAUTHORIZED: "UNAUTHORIZED",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
};
const QUEUE_ERROR = "QueueError";

/** The tRPC code of a library error whose message is fit for the caller; undefined for anything else. */
export function libraryErrorCode(err: unknown): Code | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === QUEUE_ERROR) {
    const code = (err as QueueError).code;
    return Object.hasOwn(QUEUE_CODES, code) ? QUEUE_CODES[code] : undefined;
  }
  if (err.name === "AuthError") return AUTH_CODES[(err as AuthError).code];
  return Object.hasOwn(NAMED_CODES, err.name) ? NAMED_CODES[err.name] : undefined;
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
