// What each CodedError code becomes for the two front ends: the console's tRPC
// code and the CLI's exit status. The one table both read.
import type { TRPCError } from "@trpc/server";
import { type CodedError, type ErrorCode, isCodedError } from "./coded-error";

export interface ErrorOutcome {
  /**
   * The tRPC code the console answers with, the message passed on as it is.
   * INTERNAL_SERVER_ERROR: not the caller's doing; the console answers with a
   * generic sentence and logs the detail.
   */
  trpc: TRPCError["code"];
  /** The CLI's exit status (it prints the message as it is): 1 the action failed or was declined, 2 the command line was wrong. */
  exit: 1 | 2;
}

export const ERROR_OUTCOMES: Record<ErrorCode, ErrorOutcome> = {
  INVALID_ARGUMENT: { trpc: "BAD_REQUEST", exit: 1 },
  NOT_FOUND: { trpc: "NOT_FOUND", exit: 1 },
  CONFLICT: { trpc: "CONFLICT", exit: 1 },
  ALREADY_SETTLED: { trpc: "CONFLICT", exit: 1 },
  DELIVERY_EXPIRED: { trpc: "CONFLICT", exit: 1 },
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", exit: 1 },
  TOO_MANY_REQUESTS: { trpc: "TOO_MANY_REQUESTS", exit: 1 },
  CLOSED: { trpc: "INTERNAL_SERVER_ERROR", exit: 1 },
  // A server's configuration is no business of a browser; the operator running the CLI owns it.
  CONFIG: { trpc: "INTERNAL_SERVER_ERROR", exit: 1 },
  DECLINED: { trpc: "INTERNAL_SERVER_ERROR", exit: 1 },
  USAGE: { trpc: "INTERNAL_SERVER_ERROR", exit: 2 },
};

/** The outcome of a CodedError (with the error), or undefined for any other error or a code this table lacks. */
export function errorOutcome(err: unknown): { error: CodedError; outcome: ErrorOutcome } | undefined {
  if (!isCodedError(err) || !Object.hasOwn(ERROR_OUTCOMES, err.code)) return undefined;
  return { error: err, outcome: ERROR_OUTCOMES[err.code] };
}
