// Publishing into the pipeline's topics. Every message id names its occasion
// (see occasionId): a poll is "poll <build> <generation>", so re-publishing
// the poll loop is never swallowed by dedup, while a retried publish of the
// same occasion still is.

import type { BuildStatus } from "@/server/buildrunner/types";
import { type Message, occasionId, type QueueTx } from "@/server/queue";
import type { PipelineDeps } from "./deps";
import { POLL_GENERATION, TOPICS } from "./topics";

const body = (id: string) => JSON.stringify({ id });

/** The batch's `build` message; `occasion` "slot": the one sent when a capped queue hands the batch a slot. */
export function publishBuild(d: PipelineDeps, batchId: string, tx?: QueueTx, occasion?: "slot") {
  return d.queue.publisher.publish(
    TOPICS.build,
    {
      id: occasion ? occasionId("build", batchId, occasion) : occasionId("build", batchId),
      partitionKey: batchId,
      payload: body(batchId),
    },
    { tx },
  );
}

/** The poll of generation `gen` (`occasion` "poll" unless a retry or a revival names its own). */
export function pollMessage(buildId: string, gen: number, occasion = "poll"): Message {
  return {
    id: occasionId(occasion, buildId, gen),
    partitionKey: buildId,
    payload: body(buildId),
    metadata: { [POLL_GENERATION]: String(gen) },
  };
}

/** The poll of generation `gen`, due after `delayMs`. */
export function publishPoll(
  d: PipelineDeps,
  buildId: string,
  gen: number,
  delayMs: number,
  opts: { occasion?: string; tx?: QueueTx } = {},
) {
  return d.queue.publisher.publishAfter(TOPICS.buildsignal, pollMessage(buildId, gen, opts.occasion), delayMs, {
    tx: opts.tx,
  });
}

/** A push (a webhook, a cancel): handled like a poll but never schedules the next poll. */
export function publishPush(
  d: PipelineDeps,
  buildId: string,
  occasion: string,
  opts: { delayMs?: number; tx?: QueueTx } = {},
) {
  const message = { id: occasionId("push", buildId, occasion), partitionKey: buildId, payload: body(buildId) };
  // publish, not publishAfter(0): only a publish wakes the subscribers at once.
  return opts.delayMs
    ? d.queue.publisher.publishAfter(TOPICS.buildsignal, message, opts.delayMs, { tx: opts.tx })
    : d.queue.publisher.publish(TOPICS.buildsignal, message, { tx: opts.tx });
}

/** Tells speculate that the batch's build reached `status` (one occasion per status). */
export function speculateMessage(batchId: string, buildId: string, status: BuildStatus): Message {
  return { id: occasionId("speculate", buildId, status), partitionKey: batchId, payload: body(batchId) };
}

export function publishSpeculate(d: PipelineDeps, batchId: string, buildId: string, status: BuildStatus, tx?: QueueTx) {
  return d.queue.publisher.publish(TOPICS.speculate, speculateMessage(batchId, buildId, status), { tx });
}
