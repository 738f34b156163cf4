// The BuildRunner contract: how the pipeline talks to whatever runs builds
// (a local command, Buildkite, ...). Three verbs keyed by a BuildID.
//
// - trigger and cancel return promptly; status may be slow (a round trip to
//   the runner). Errors are plain Errors: the caller decides whether to retry.
// - trigger takes ordered change sets: `base` is the prefix assumed good
//   (earlier batches), `head` the changes being verified. A runner applies
//   base then head on the queue's target and validates the result
//   asynchronously; it may cache a base it has validated before, and may say
//   in the metadata whether a failure was in base or head.
// - metadata is free-form; runners may echo it back from status. The key
//   IDEMPOTENCY_KEY makes trigger idempotent: a second trigger with the same
//   key returns the first build's id instead of starting another build (a
//   worker that died between trigger and storing the build retries safely).
import { CodedError } from "@/server/coded-error";

export const BUILD_STATUSES = ["accepted", "running", "succeeded", "failed", "cancelled"] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

export type BuildID = { id: string };
/** URIs such as github://org/repo/pull/123/<sha>. */
export type Change = { uris: string[] };
export type BuildMetadata = Record<string, string>;

export const IDEMPOTENCY_KEY = "sluice.idempotencyKey";

/**
 * Metadata key a runner sets on an unfinished build that waits on a person
 * (a Buildkite block step, a GitHub environment awaiting approval), valued
 * with what it waits for. Its status stays accepted or running: the pipeline
 * polls it at the slower waiting delay and the console marks it waiting.
 */
export const WAITING_FOR = "waitingFor";

export function isWaiting(metadata: BuildMetadata): boolean {
  return Boolean(metadata[WAITING_FOR]);
}

export interface BuildRunner {
  /** The runner's name as configured (noop, command, buildkite). */
  readonly kind: string;
  trigger(queue: string, base: Change[], head: Change[], metadata?: BuildMetadata): Promise<BuildID>;
  /** Unknown build: an error. */
  status(id: BuildID): Promise<{ status: BuildStatus; metadata: BuildMetadata }>;
  /** Returns once the request reached the runner. No-op on terminal builds. */
  cancel(id: BuildID): Promise<void>;
}

export function isTerminal(status: BuildStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled";
}

export class UnknownBuildError extends CodedError<"NOT_FOUND"> {
  constructor(readonly buildId: string) {
    super("NOT_FOUND", `unknown build ${buildId}`);
    this.name = "UnknownBuildError";
  }
}
