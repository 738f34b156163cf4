// The base of every error whose class says what went wrong in a word a caller
// can act on: the queue's, sign-in's, the pipeline's, the configuration's and
// the CLI's own. Callers (the tRPC error mapper, the CLI) read `code` through
// one table (error-outcomes.ts) instead of knowing each class.

/** Every code a CodedError may carry; error-outcomes.ts says what each becomes. */
export type ErrorCode =
  /** The caller's input is wrong (a bad name, a value out of range, a queue no runner can build). */
  | "INVALID_ARGUMENT"
  /** What the caller names does not exist (a message, a build, a batch, a user). */
  | "NOT_FOUND"
  /** What the caller asks for clashes with what is there (a user name taken). */
  | "CONFLICT"
  /** A delivery was settled already. */
  | "ALREADY_SETTLED"
  /** A delivery's lease went to someone else (or its row was deleted) before it was settled. */
  | "DELIVERY_EXPIRED"
  /** Wrong credentials or no session. */
  | "UNAUTHORIZED"
  /** Too many attempts: try again later. */
  | "TOO_MANY_REQUESTS"
  /** The queue was closed before the call: a fault of the program, not the caller. */
  | "CLOSED"
  /** The process's configuration (environment) is invalid. */
  | "CONFIG"
  /** The operator declined a confirmation (CLI). */
  | "DECLINED"
  /** The command line was wrong (CLI). */
  | "USAGE";

// A registered symbol, not instanceof: Next.js bundles a module into each
// route that imports it, and a library object kept on globalThis may have been
// made by another route's copy of the class. Symbol.for is one symbol across
// copies, and unlike a class name it survives minification.
const CODED = Symbol.for("sluice.CodedError");

export class CodedError<C extends ErrorCode = ErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
  }
}

// On the prototype, not each instance: errors compared or logged show no extra field.
Object.defineProperty(CodedError.prototype, CODED, { value: true });

/** Whether `err` is a CodedError of any copy of this module. */
export function isCodedError(err: unknown): err is CodedError {
  return err instanceof Error && (err as Partial<Record<typeof CODED, unknown>>)[CODED] === true;
}
