// What operators (console, CLI) do to the pipeline.
import type { BuildMetadata, BuildStatus, Change } from "../buildrunner/types";
import { isTerminal, UnknownBuildError } from "../buildrunner/types";
import type { PipelineDeps } from "./deps";
import { publishBuild, publishPush } from "./signals";

/** Stores a batch and asks the pipeline to build it. Returns the batch id. */
export async function requestBuild(
  d: PipelineDeps,
  input: { queue: string; base: Change[]; head: Change[]; metadata?: BuildMetadata; requester: string },
): Promise<string> {
  // Fail now, not in the worker, when nothing can build this queue.
  d.runners.forQueue(input.queue);
  const batchId = await d.store.createBatch({ ...input, metadata: input.metadata ?? {} });
  await publishBuild(d, batchId);
  return batchId;
}

/** Asks the runner to cancel; the poll loop then records `cancelled`. */
export async function cancelBuild(d: PipelineDeps, buildId: string): Promise<"requested" | "already-finished"> {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new UnknownBuildError(buildId);
  if (isTerminal(build.status as BuildStatus)) return "already-finished";
  await d.runners.forQueue(build.queue).cancel({ id: buildId });
  // Record it without waiting for the next poll.
  await publishPush(d, buildId, "cancel");
  return "requested";
}
