// Group commit for the buildsignal loop. A poll ends in one transaction: the
// next poll's publishAfter, the status record (and a speculate message when
// the status moved), the ack. Written one by one, each of a worker's polls
// pays its own transaction and a dozen statements. Here, while one
// transaction is in flight the next polls' outcomes gather, and then go in
// one: a publish per delay, one UPDATE of every build, one write of every
// ack. Any failure of a shared transaction (a build whose status moved under
// it, a delivery that expired, a lock timeout) rolls it back and writes each
// poll of it alone, as before, so a poll fails only for its own reasons.
import type { BuildMetadata, BuildStatus } from "@/server/buildrunner/types";
import { errorMessage } from "@/server/log";
import { type Delivery, Gatherer, type Message, type QueueTx, togetherOrAlone, type Waiting } from "@/server/queue";
import type { PipelineDeps } from "./deps";
import { pollMessage, publishPoll, publishSpeculate, speculateMessage } from "./signals";
import type { RecordedBuild } from "./store";
import { TOPICS } from "./topics";

/** A poll (or push) answered by its runner, to be recorded and acked. */
export interface PollOutcome {
  /** The build as the poll read it before asking; not terminal. */
  seen: RecordedBuild;
  delivery: Delivery;
  status: BuildStatus;
  metadata: BuildMetadata;
  /** Set when this message is the live poll and the build goes on: its generation and the next poll's delay, ms. */
  next?: { gen: number; delayMs: number };
}

export interface PollRecorded {
  build: RecordedBuild;
  changed: boolean;
}

/** Most polls one shared transaction writes; the rest wait for the next. */
const MAX_SHARED = 200;

export class PollWriter {
  private readonly gatherer: Gatherer<PollOutcome, PollRecorded>;

  constructor(private readonly d: PipelineDeps) {
    this.gatherer = new Gatherer(
      (batch) => this.flush(batch),
      (waiting) => Math.min(waiting.length, MAX_SHARED),
    );
  }

  /** Resolves once the outcome is committed, with the build as recorded. */
  write(outcome: PollOutcome): Promise<PollRecorded> {
    return this.gatherer.add(outcome);
  }

  private flush(batch: Waiting<PollOutcome, PollRecorded>[]) {
    const items = batch.map((w) => w.item);
    // Two messages of one build (never together in practice: a partition's are handled in turn) go alone.
    const distinct = new Set(items.map((o) => o.seen.id)).size === items.length;
    return togetherOrAlone(batch, {
      together: distinct ? (all) => this.d.queue.transaction((tx) => writeShared(this.d, tx, all)) : undefined,
      alone: (o) => writeOne(this.d, o),
      inOrder: false,
      onFallback: (err) =>
        this.d.log.info("a shared poll commit failed; writing its polls one by one", {
          polls: items.length,
          reason: errorMessage(err),
        }),
    });
  }
}

/** One poll's transaction. */
export function writeOne(d: PipelineDeps, o: PollOutcome): Promise<PollRecorded> {
  const buildId = o.seen.id;
  return d.queue.transaction(async (tx) => {
    if (o.next) await publishPoll(d, buildId, o.next.gen + 1, o.next.delayMs, { tx });
    const recorded = await d.store.within(tx).recordStatus(buildId, o.status, o.metadata, o.next?.gen, false, o.seen);
    // speculate cares about changes of status: an unchanged poll tells it nothing.
    if (recorded.changed) await publishSpeculate(d, recorded.build.batchId, buildId, recorded.build.status, tx);
    await o.delivery.ack({ tx });
    return recorded;
  });
}

class StatusMoved extends Error {
  constructor() {
    super("a build's status moved since its poll read it");
  }
}

/**
 * Many polls' transaction, in the order one poll takes its locks (the
 * partitions' heads, the builds, then the deliveries' partitions), so that
 * it and a lone poll never wait on each other in a cycle.
 */
async function writeShared(d: PipelineDeps, tx: QueueTx, items: PollOutcome[]): Promise<PollRecorded[]> {
  const nextPolls = new Map<number, Message[]>();
  for (const o of items) {
    if (!o.next) continue;
    const same = nextPolls.get(o.next.delayMs) ?? [];
    same.push(pollMessage(o.seen.id, o.next.gen + 1));
    nextPolls.set(o.next.delayMs, same);
  }
  for (const [delayMs, messages] of nextPolls) {
    await d.queue.publisher.publishAfter(TOPICS.buildsignal, messages, delayMs, { tx });
  }
  const recorded = await d.store
    .within(tx)
    .recordPolls(
      items.map((o) => ({ seen: o.seen, status: o.status, metadata: o.metadata, advanceFrom: o.next?.gen })),
    );
  if (!recorded) throw new StatusMoved();
  const changed = items.filter((o) => o.status !== o.seen.status);
  if (changed.length > 0) {
    await d.queue.publisher.publish(
      TOPICS.speculate,
      changed.map((o) => speculateMessage(o.seen.batchId, o.seen.id, o.status)),
      { tx },
    );
  }
  await d.queue.ackAll(
    items.map((o) => o.delivery),
    { tx },
  );
  return items.map((o) => ({ build: { ...o.seen, status: o.status }, changed: o.status !== o.seen.status }));
}
