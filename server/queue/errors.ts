// Every error the queue library throws is a QueueError with a stable code, so
// callers (tRPC routers, the CLI) can map them without matching on messages.
import { CodedError, type ErrorCode } from "@/server/coded-error";

export type QueueErrorCode = Extract<
  ErrorCode,
  "INVALID_ARGUMENT" | "ALREADY_SETTLED" | "DELIVERY_EXPIRED" | "CLOSED" | "NOT_FOUND"
>;

export class QueueError extends CodedError<QueueErrorCode> {
  constructor(code: QueueErrorCode, message: string) {
    super(code, message);
    this.name = "QueueError";
  }
}

export const invalid = (message: string) => new QueueError("INVALID_ARGUMENT", message);

/** How a MySQL/MariaDB error should be handled. */
export type MysqlErrorClass =
  | "deadlock" // 1213: the transaction was rolled back; run it again from the start
  | "lock_wait_timeout" // 1205: the statement timed out; run the transaction again
  | "duplicate" // 1062: a unique key said no; for publishes this is the dedup
  | "connection" // the connection is gone; the outcome of an open commit is unknown
  | "other";

const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CONNECTION_KILLED",
  "ER_SERVER_SHUTDOWN",
  "ER_QUERY_INTERRUPTED",
]);

/**
 * The one place that reads MySQL error numbers. Wrappers (Drizzle's "Failed
 * query" error) keep the driver's error as `cause`: the chain is followed.
 */
export function classifyMysqlError(err: unknown): MysqlErrorClass {
  for (let e = err, depth = 0; typeof e === "object" && e !== null && depth < 5; depth++) {
    const c = classifyOne(e);
    if (c !== "other") return c;
    e = (e as { cause?: unknown }).cause;
  }
  return "other";
}

function classifyOne(err: object): MysqlErrorClass {
  const e = err as { errno?: number; code?: string; fatal?: boolean };
  if (e.errno === 1213) return "deadlock";
  if (e.errno === 1205) return "lock_wait_timeout";
  if (e.errno === 1062) return "duplicate";
  // 1927: connection killed; 1053: server shutdown; 2006/2013: gone away / lost.
  if (e.errno === 1927 || e.errno === 1053 || e.errno === 2006 || e.errno === 2013) return "connection";
  if (e.code && connectionCodes.has(e.code)) return "connection";
  if (e.fatal) return "connection";
  return "other";
}

/** Errors worth running the whole transaction again for. */
export function isRetryableTransactionError(err: unknown): boolean {
  const c = classifyMysqlError(err);
  return c === "deadlock" || c === "lock_wait_timeout";
}

/** Errors a poll loop should wait out rather than surface. */
export function isTransientError(err: unknown): boolean {
  const c = classifyMysqlError(err);
  return c === "deadlock" || c === "lock_wait_timeout" || c === "connection";
}
