// Errors of the pipeline that callers (the console's tRPC routers, the CLI)
// tell apart by class rather than by message: "the caller asked for something
// that does not exist or cannot be built" is not a server fault.

/** No runner can build this queue (none configured, or a command runner not set up for it). */
export class NoRunnerError extends Error {
  constructor(
    readonly queue: string,
    message: string,
  ) {
    super(message);
    this.name = "NoRunnerError";
  }
}

export class UnknownBatchError extends Error {
  constructor(readonly batchId: string) {
    super(`unknown batch ${batchId}`);
    this.name = "UnknownBatchError";
  }
}
