// The pipeline's three consumers: build (trigger a batch's build), buildsignal
// (poll or push: record a build's status, schedule the next poll) and
// speculate (record a batch's verdict).

import { IDEMPOTENCY_KEY, isTerminal, isWaiting } from "@/server/buildrunner/types";
import { errorMessage } from "@/server/log";
import type { Delivery } from "@/server/queue";
import { type QueueSettings, queueSettings } from "./config";
import { defaultBackoff, RetryableError, retryAfterMsOf, type Settled } from "./consumer";
import type { PipelineDeps } from "./deps";
import { type PollOutcome, type PollWriter, writeOne } from "./poll-writer";
import { publishBuild, publishPoll, publishPush, publishSpeculate } from "./signals";
import type { BuildRow } from "./store";
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
  const cap = queueSettings(d.config, batch.queue).maxConcurrentBuilds;
  if (!existing && cap !== undefined && batch.state !== "building") {
    // A slot first, then the trigger: the cap holds even while triggers are in flight. A batch parked
    // here gets a `build` message again when a slot is handed to it (speculateController, the sweep).
    const state = await d.queue.transaction(async (tx) => {
      const claimed = await d.store.within(tx).claimSlot(batchId, batch.queue, cap);
      if (claimed !== "building") await delivery.ack({ tx });
      return claimed;
    });
    if (state !== "building") {
      if (state === "waiting") d.log.info("batch waits for a build slot", { batchId, queue: batch.queue, cap });
      return "settled";
    }
  }
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
 * transaction (shared with other polls of the worker: poll-writer.ts)
 * records it, tells speculate of a change, schedules the next poll with
 * publishAfter while the build runs, moves the poll generation and acks.
 * Only the message of the live generation schedules: a push (webhook,
 * cancel) or a stale poll records the status and stops there, so there is
 * one live poll message per build at any time.
 */
export async function buildsignalController(
  d: PipelineDeps,
  { id: buildId }: IdPayload,
  delivery: Delivery,
  opts: {
    backoffMs?: (failures: number) => number;
    /** The worker's group commit of polls; without it, each poll writes its own transaction. */
    polls?: PollWriter;
  } = {},
): Promise<Settled | undefined> {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new Error(`unknown build ${buildId}`);
  if (isTerminal(build.status)) {
    await publishSpeculate(d, build.batchId, build.id, build.status);
    return;
  }
  const runner = d.runners.forQueue(build.queue);
  // In memory: the common path (a running build polled at its cadence) adds no statement for it.
  const settings = queueSettings(d.config, build.queue);
  const genText = delivery.message.metadata[POLL_GENERATION];
  const gen = genText === undefined ? Number.NaN : Number(genText);
  const live = Number.isInteger(gen) && gen === build.pollGeneration;
  let answer: Awaited<ReturnType<typeof runner.status>>;
  try {
    answer = await runner.status({ id: buildId });
  } catch (err) {
    return statusFailed(d, build, delivery, err, { live, gen, settings, backoffMs: opts.backoffMs });
  }
  const schedules = live && !isTerminal(answer.status);
  // Only a person moves a waiting build (an approval, an unblock): no need to ask every few seconds.
  const { poll } = settings;
  const delayMs = isWaiting(answer.metadata)
    ? poll.waiting
    : answer.status === "accepted"
      ? poll.accepted
      : poll.running;
  const outcome: PollOutcome = {
    seen: build,
    delivery,
    status: answer.status,
    metadata: answer.metadata,
    next: schedules ? { gen, delayMs } : undefined,
  };
  const { build: stored, changed } = await (opts.polls ? opts.polls.write(outcome) : writeOne(d, outcome));
  const status = stored.status;
  if (changed) d.metrics?.buildStatus(stored.runner, status);
  if (isTerminal(status)) d.log.info("build finished", { buildId, status });
  return "settled";
}

/**
 * A status call failed. Rather than nack (whose last attempt dead-letters the
 * poll, which the stalled-build sweep then revives, again and again for a
 * build the CI lost), the failure is counted on the build: below the queue's
 * maxStatusFailures the same poll (or push) is published again after a
 * backoff (or the rate limit's reset); at it, the build ends failed with the
 * reason, in its history, and speculate hears of it. The count, the retry or
 * the verdict, and the ack commit together.
 */
async function statusFailed(
  d: PipelineDeps,
  build: BuildRow,
  delivery: Delivery,
  err: unknown,
  o: { live: boolean; gen: number; settings: QueueSettings; backoffMs?: (failures: number) => number },
): Promise<Settled> {
  const buildId = build.id;
  const message = errorMessage(err) || "status failed";
  const outcome = await d.queue.transaction(async (tx) => {
    const store = d.store.within(tx);
    const noted = await store.noteStatusFailure(buildId);
    if (!noted) {
      // Finished meanwhile (a push recorded it): nothing left to ask.
      await delivery.ack({ tx });
      return { failed: false, failures: 0 };
    }
    const { failures } = noted;
    if (failures >= o.settings.maxStatusFailures) {
      const reason = `status failed ${failures} times in a row; last: ${message}`;
      const recorded = await store.recordStatus(buildId, "failed", { ...noted.metadata, reason }, undefined, true);
      if (recorded.changed) await publishSpeculate(d, build.batchId, buildId, "failed", tx);
      await delivery.ack({ tx });
      return { failed: recorded.changed, failures };
    }
    const delay = retryAfterMsOf(err) ?? (o.backoffMs ?? defaultBackoff)(failures);
    // The failure count names the occasion: a retried transaction publishes the same one, which dedups.
    if (o.live) await publishPoll(d, buildId, o.gen, delay, { occasion: `retry${failures}`, tx });
    else await publishPush(d, buildId, `retry${failures}`, { delayMs: delay, tx });
    await delivery.ack({ tx });
    return { failed: false, failures };
  });
  if (outcome.failed) {
    d.metrics?.buildStatus(build.runner, "failed");
    d.log.warn("build failed: its status calls keep failing", { buildId, failures: outcome.failures, reason: message });
  } else if (outcome.failures > 0) {
    d.log.warn("status failed; will retry", { buildId, failures: outcome.failures, reason: message });
  }
  return "settled";
}

/**
 * speculate: { id: batchId }. Records the batch's verdict once its build is
 * terminal. On a capped queue that frees the batch's slot: in the same
 * transaction the oldest waiting batch gets it and its `build` message.
 */
export async function speculateController(d: PipelineDeps, { id: batchId }: IdPayload): Promise<undefined> {
  const batch = await d.store.getBatch(batchId);
  if (!batch) throw new Error(`unknown batch ${batchId}`);
  const build = await d.store.getBuildForBatch(batchId);
  if (!build) return;
  const status = build.status;
  if (status === "succeeded" || status === "failed" || status === "cancelled") {
    const cap = queueSettings(d.config, batch.queue).maxConcurrentBuilds;
    if (cap === undefined) {
      await d.store.finishBatch(batchId, status);
    } else {
      const started = await d.queue.transaction(async (tx) => {
        const store = d.store.within(tx);
        // The slot lock before the batch's row: the same order as claimSlot, so the two never deadlock.
        await store.lockQueueSlots(batch.queue);
        await store.finishBatch(batchId, status);
        const ids = await store.handOverSlots(batch.queue, cap);
        for (const id of ids) await publishBuild(d, id, tx, "slot");
        return ids;
      });
      if (started.length) d.log.info("build slots handed over", { queue: batch.queue, batchIds: started.join(",") });
    }
    d.log.info("batch verdict", { batchId, buildId: build.id, verdict: status });
  }
}

/** The sweep behind the slot hand-over: a waiting batch gets a free slot even if a hand-over was missed. */
export async function handOverFreeSlots(d: PipelineDeps): Promise<number> {
  let started = 0;
  for (const queue of await d.store.queuesWithWaitingBatches()) {
    const cap = queueSettings(d.config, queue).maxConcurrentBuilds;
    const ids = await d.queue.transaction(async (tx) => {
      const handed = await d.store.within(tx).handOverSlots(queue, cap);
      for (const id of handed) await publishBuild(d, id, tx, "slot");
      return handed;
    });
    started += ids.length;
  }
  return started;
}
