// What operators (console, CLI) do to the pipeline.
import type { BuildMetadata, Change } from "@/server/buildrunner/types";
import { isTerminal, UnknownBuildError } from "@/server/buildrunner/types";
import type { PipelineDeps } from "./deps";
import { publishBuild, publishPush } from "./signals";
import type { TxHook } from "./store";

/** Stores a batch and asks the pipeline to build it. Returns the batch id. */
export async function requestBuild(
  d: PipelineDeps,
  input: { queue: string; base: Change[]; head: Change[]; metadata?: BuildMetadata; requester: string },
  opts: { within?: TxHook } = {},
): Promise<string> {
  // Fail now, not in the worker, when nothing can build this queue.
  d.runners.forQueue(input.queue);
  // The batch row, its `build` message and the caller's audit row commit together.
  return d.queue.transaction(async (tx) => {
    const batchId = await d.store.within(tx).createBatch({ ...input, metadata: input.metadata ?? {} }, opts.within);
    await publishBuild(d, batchId, tx);
    return batchId;
  });
}

/**
 * Asks the runner to cancel; the poll loop then records `cancelled`.
 * `within` (an audit row) is written in a transaction that commits only if
 * the runner accepted the cancel.
 */
export async function cancelBuild(
  d: PipelineDeps,
  buildId: string,
  opts: { within?: TxHook } = {},
): Promise<"requested" | "already-finished"> {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new UnknownBuildError(buildId);
  if (isTerminal(build.status)) return "already-finished";
  const runner = d.runners.forQueue(build.queue);
  await d.store.withHook(opts.within, () => runner.cancel({ id: buildId }));
  // Record it without waiting for the next poll.
  await publishPush(d, buildId, "cancel");
  return "requested";
}
