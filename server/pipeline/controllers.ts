// The three consumers of SPEC §3.

import { type BuildStatus, IDEMPOTENCY_KEY, isTerminal } from "../buildrunner/types";
import type { Delivery } from "../queue";
import { RetryableError } from "./consumer";
import type { PipelineDeps } from "./deps";
import { publishPoll, publishSpeculate } from "./signals";
import { type IdPayload, POLL_GENERATION } from "./topics";

/**
 * build: { id: batchId }. Triggers the batch's build once (an idempotency key
 * per batch: a worker that died between trigger and storing the build gets
 * the same build back), stores it accepted, and starts its poll loop.
 */
export async function buildController(d: PipelineDeps, { id: batchId }: IdPayload): Promise<void> {
  const batch = await d.store.getBatch(batchId);
  if (!batch) throw new Error(`unknown batch ${batchId}`);
  let build = await d.store.getBuildForBatch(batchId);
  if (!build) {
    const runner = d.runners.forQueue(batch.queue);
    let buildId: string;
    try {
      ({ id: buildId } = await runner.trigger(batch.queue, batch.base, batch.head, {
        ...batch.metadata,
        requester: batch.requester,
        [IDEMPOTENCY_KEY]: `batch:${batch.id}`,
      }));
    } catch (err) {
      throw new RetryableError(`trigger failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    build = await d.store.insertBuild({ id: buildId, batchId, runner: runner.kind, queue: batch.queue });
    d.metrics?.buildStatus(runner.kind, "accepted");
    d.log.info("build triggered", { batchId, buildId: build.id, queue: batch.queue, runner: runner.kind });
  }
  // Generation 0 starts the loop; a retry of this message re-publishes the same occasion, which dedups.
  await publishPoll(d, build.id, 0, 0);
}

/**
 * buildsignal: { id: buildId }. Asks the runner for the status, stores it,
 * tells speculate, and, while the build runs, schedules the next poll with
 * publishAfter. Only the message of the live generation schedules: a push
 * (webhook, cancel) or a stale poll records the status and stops there, so
 * there is one live poll message per build at any time.
 */
export async function buildsignalController(d: PipelineDeps, { id: buildId }: IdPayload, delivery: Delivery) {
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
  if (schedules) {
    const delay = answer.status === "accepted" ? d.config.pollDelayMs.accepted : d.config.pollDelayMs.running;
    // Publish first, then record the status and move the generation in one
    // transaction: a crash in between re-runs this message, whose publish of
    // gen + 1 dedups.
    await publishPoll(d, buildId, gen + 1, delay);
  }
  const { build: stored, changed } = await d.store.recordStatus(
    buildId,
    answer.status,
    answer.metadata,
    schedules ? gen : undefined,
  );
  const status = stored.status as BuildStatus;
  // speculate cares about changes of status: an unchanged poll tells it nothing.
  if (changed) {
    d.metrics?.buildStatus(stored.runner, status);
    await publishSpeculate(d, stored.batchId, buildId, status);
  }
  if (isTerminal(status)) d.log.info("build finished", { buildId, status });
}

/** speculate: { id: batchId }. Records the batch's verdict once its build is terminal. */
export async function speculateController(d: PipelineDeps, { id: batchId }: IdPayload): Promise<void> {
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
