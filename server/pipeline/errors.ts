// Errors of the pipeline that callers (the console's tRPC routers, the CLI)
// tell apart by code rather than by message: "the caller asked for something
// that does not exist or cannot be built" is not a server fault.
import { CodedError } from "@/server/coded-error";

/** No runner can build this queue (none configured, or a command runner not set up for it). */
export class NoRunnerError extends CodedError<"INVALID_ARGUMENT"> {
  constructor(
    readonly queue: string,
    message: string,
  ) {
    super("INVALID_ARGUMENT", message);
    this.name = "NoRunnerError";
  }
}

export class UnknownBatchError extends CodedError<"NOT_FOUND"> {
  constructor(readonly batchId: string) {
    super("NOT_FOUND", `unknown batch ${batchId}`);
    this.name = "UnknownBatchError";
  }
}
