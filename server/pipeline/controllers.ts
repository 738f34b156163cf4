// The pipeline's three consumers: build (trigger a batch's build), buildsignal
// (poll or push: record a build's status, schedule the next poll) and
// speculate (record a batch's verdict).

import { type BuildStatus, IDEMPOTENCY_KEY, isTerminal } from "../buildrunner/types";
import type { Delivery } from "../queue";
import { RetryableError, type Settled } from "./consumer";
import type { PipelineDeps } from "./deps";
import { publishPoll, publishSpeculate } from "./signals";
import { type IdPayload, POLL_GENERATION } from "./topics";

/**
 * build: { id: batchId }. Triggers the batch's build once (an idempotency key
 * per batch: a worker that died between trigger and storing the build gets
 * the same build back), then stores it accepted, publishes the first poll and
 * acks, all in one transaction.
 */
export async function buildController(
  d: PipelineDeps,
  { id: batchId }: IdPayload,
  delivery: Delivery,
): Promise<Settled> {
  const batch = await d.store.getBatch(batchId);
  if (!batch) throw new Error(`unknown batch ${batchId}`);
  const existing = await d.store.getBuildForBatch(batchId);
  // The build to store, when this delivery triggered it.
  let triggered: { id: string; batchId: string; runner: string; queue: string } | undefined;
  if (!existing) {
    const runner = d.runners.forQueue(batch.queue);
    try {
      const { id } = await runner.trigger(batch.queue, batch.base, batch.head, {
        ...batch.metadata,
        requester: batch.requester,
        [IDEMPOTENCY_KEY]: `batch:${batch.id}`,
      });
      triggered = { id, batchId, runner: runner.kind, queue: batch.queue };
    } catch (err) {
      throw new RetryableError(`trigger failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const build = await d.queue.transaction(async (tx) => {
    const stored = triggered ? await d.store.within(tx).insertBuild(triggered) : existing;
    if (!stored) throw new Error(`batch ${batchId} has no build and triggered none`);
    // Generation 0 starts the loop; a redelivered `build` re-publishes the same occasion, which dedups.
    await publishPoll(d, stored.id, 0, 0, { tx });
    await delivery.ack({ tx });
    return stored;
  });
  if (triggered && build.id === triggered.id) {
    d.metrics?.buildStatus(build.runner, "accepted");
    d.log.info("build triggered", { batchId, buildId: build.id, queue: batch.queue, runner: build.runner });
  }
  return "settled";
}

/**
 * buildsignal: { id: buildId }. Asks the runner for the status, then in one
 * transaction records it, tells speculate of a change, schedules the next
 * poll with publishAfter while the build runs, moves the poll generation and
 * acks. Only the message of the live generation schedules: a push (webhook,
 * cancel) or a stale poll records the status and stops there, so there is one
 * live poll message per build at any time.
 */
export async function buildsignalController(
  d: PipelineDeps,
  { id: buildId }: IdPayload,
  delivery: Delivery,
): Promise<Settled | undefined> {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new Error(`unknown build ${buildId}`);
  if (isTerminal(build.status as BuildStatus)) {
    await publishSpeculate(d, build.batchId, build.id, build.status as BuildStatus);
    return;
  }
  const runner = d.runners.forQueue(build.queue);
  let answer: Awaited<ReturnType<typeof runner.status>>;
  try {
    answer = await runner.status({ id: buildId });
  } catch (err) {
    throw new RetryableError(`status failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const genText = delivery.message.metadata[POLL_GENERATION];
  const gen = genText === undefined ? Number.NaN : Number(genText);
  const schedules = Number.isInteger(gen) && gen === build.pollGeneration && !isTerminal(answer.status);
  const { build: stored, changed } = await d.queue.transaction(async (tx) => {
    if (schedules) {
      const delay = answer.status === "accepted" ? d.config.pollDelayMs.accepted : d.config.pollDelayMs.running;
      await publishPoll(d, buildId, gen + 1, delay, { tx });
    }
    const recorded = await d.store
      .within(tx)
      .recordStatus(buildId, answer.status, answer.metadata, schedules ? gen : undefined);
    // speculate cares about changes of status: an unchanged poll tells it nothing.
    if (recorded.changed) {
      await publishSpeculate(d, recorded.build.batchId, buildId, recorded.build.status as BuildStatus, tx);
    }
    await delivery.ack({ tx });
    return recorded;
  });
  const status = stored.status as BuildStatus;
  if (changed) d.metrics?.buildStatus(stored.runner, status);
  if (isTerminal(status)) d.log.info("build finished", { buildId, status });
  return "settled";
}

/** speculate: { id: batchId }. Records the batch's verdict once its build is terminal. */
export async function speculateController(d: PipelineDeps, { id: batchId }: IdPayload): Promise<undefined> {
  const batch = await d.store.getBatch(batchId);
  if (!batch) throw new Error(`unknown batch ${batchId}`);
  const build = await d.store.getBuildForBatch(batchId);
  if (!build) return;
  const status = build.status as BuildStatus;
  if (status === "succeeded" || status === "failed" || status === "cancelled") {
    await d.store.finishBatch(batchId, status);
    d.log.info("batch verdict", { batchId, buildId: build.id, verdict: status });
  }
}
