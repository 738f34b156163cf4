// A workflow run's status and conclusion (GitHub's documented values) as a
// Sluice build status. Every documented value has a row; anything else is an
// error naming the value, never a guess.
//
// Two calls are ours to make:
// - neutral → succeeded. A run (or check) concludes neutral only when the
//   workflow says so on purpose, and GitHub's own required checks count
//   neutral as passing; failing such a batch would block merges forever.
// - skipped → failed. A skipped run ran nothing, so it verified nothing; a
//   merge queue must not pass untested changes, and it is not "cancelled"
//   either (nobody cancelled it). The conclusion stays in the metadata.
import type { BuildStatus } from "@/server/buildrunner/types";

export const RUN_STATUSES = ["requested", "queued", "pending", "waiting", "in_progress", "completed"] as const;
export const RUN_CONCLUSIONS = [
  "success",
  "failure",
  "neutral",
  "cancelled",
  "skipped",
  "timed_out",
  "action_required",
  "startup_failure",
  "stale",
] as const;

const BY_STATUS = new Map<string, BuildStatus>([
  ["requested", "accepted"],
  ["queued", "accepted"],
  ["pending", "accepted"],
  // Waiting for an environment's approval: not running yet.
  ["waiting", "accepted"],
  ["in_progress", "running"],
]);

const BY_CONCLUSION = new Map<string, BuildStatus>([
  ["success", "succeeded"],
  ["neutral", "succeeded"],
  ["failure", "failed"],
  ["timed_out", "failed"],
  ["startup_failure", "failed"],
  ["action_required", "failed"],
  ["stale", "failed"],
  ["skipped", "failed"],
  ["cancelled", "cancelled"],
]);

export class UnknownRunStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownRunStateError";
  }
}

export function mapRunStatus(status: string, conclusion: string | null | undefined): BuildStatus {
  if (status !== "completed") {
    const mapped = BY_STATUS.get(status);
    if (!mapped) throw new UnknownRunStateError(`unknown GitHub workflow run status "${status}"`);
    return mapped;
  }
  // GitHub sets the conclusion with the status; a completed run without one is reported until it has one.
  if (!conclusion) throw new UnknownRunStateError("GitHub workflow run is completed but has no conclusion yet");
  const mapped = BY_CONCLUSION.get(conclusion);
  if (!mapped) throw new UnknownRunStateError(`unknown GitHub workflow run conclusion "${conclusion}"`);
  return mapped;
}
