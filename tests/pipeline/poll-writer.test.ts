// The shared commit of polls (server/pipeline/poll-writer.ts) on the real
// database and queue: many polls' outcomes go in one transaction and land as
// each would alone; a build whose status moved, or a delivery that was taken
// over, sends the shared transaction back and each poll is written alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "@/server/pipeline";
import { type PollOutcome, PollWriter } from "@/server/pipeline/poll-writer";
import { publishPoll } from "@/server/pipeline/signals";
import type { BuildRow } from "@/server/pipeline/store";
import { occasionId, type Subscription } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { nextDelivery } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "./helpers";

let db: TestDatabase;
let p: Pipeline;
const NEXT_DELAY_MS = 60_000;

beforeAll(async () => {
  db = await freshDatabase("pollw");
  p = open(db.url, await pipelineConfig({ default: { kind: "noop" }, queues: {} }));
});
afterAll(async () => {
  await p.close();
  await db.drop();
});

/** `n` accepted builds, each with its first poll (generation 0) taken by one subscriber: the outcomes to write. */
async function polled(label: string, n: number): Promise<{ sub: Subscription; outcomes: PollOutcome[] }> {
  const builds: BuildRow[] = [];
  for (let i = 0; i < n; i++) {
    const build = await p.deps.store.insertBuild({
      id: `${label}-${i}`,
      batchId: `${label}-batch-${i}`,
      runner: "noop",
      queue: "q",
    });
    await publishPoll(p.deps, build.id, 0, 0);
    builds.push(build);
  }
  const sub = p.deps.queue.subscriber.subscribe("buildsignal", {
    subscriberName: `sub-${label}`,
    consumerGroup: `g-${label}`,
    pollIntervalMs: 20,
  });
  const it = sub[Symbol.asyncIterator]();
  const outcomes: PollOutcome[] = [];
  while (outcomes.length < n) {
    const delivery = await nextDelivery(it, `poll ${outcomes.length + 1} of ${n}`);
    // A new group starts at the topic's beginning: the earlier tests' polls come too.
    const seen = builds.find((b) => b.id === delivery.message.partitionKey);
    if (!seen) {
      await delivery.ack();
      continue;
    }
    outcomes.push({
      seen,
      delivery,
      status: "running",
      metadata: { step: "compile" },
      next: { gen: 0, delayMs: NEXT_DELAY_MS },
    });
  }
  return { sub, outcomes };
}

const ids = (outcomes: PollOutcome[]) => outcomes.map((o) => o.seen.id);

async function buildRows(outcomes: PollOutcome[]) {
  return db.sql<{ id: string; status: string; poll_generation: number; status_calls: number; metadata: string }>(
    `SELECT id, status, poll_generation, status_calls, metadata FROM builds WHERE id IN (?) ORDER BY id`,
    [ids(outcomes)],
  );
}

async function nextPolls(outcomes: PollOutcome[]) {
  return db.sql<{ partition_key: string; message_id: string; delay: number }>(
    `SELECT partition_key, message_id, visible_after - published_at AS delay FROM queue_messages
     WHERE topic = 'buildsignal' AND message_id LIKE 'poll%' AND partition_key IN (?) AND metadata LIKE '%"1"%' ORDER BY partition_key`,
    [ids(outcomes)],
  );
}

async function acked(group: string, outcomes: PollOutcome[]) {
  const [row] = await db.sql<{ n: number }>(
    "SELECT COUNT(*) AS n FROM queue_deliveries WHERE consumer_group = ? AND topic = 'buildsignal' AND partition_key IN (?) AND state = 1",
    [group, ids(outcomes)],
  );
  return Number(row?.n);
}

describe("poll writer", () => {
  it("writes polls made together in one shared transaction, each as it would be alone", async () => {
    const { sub, outcomes } = await polled("shared", 12);
    try {
      let transactions = 0;
      const queue = p.deps.queue;
      const counted = {
        ...queue,
        transaction: ((fn) => {
          transactions++;
          return queue.transaction(fn);
        }) as typeof queue.transaction,
      };
      const writer = new PollWriter({ ...p.deps, queue: counted });
      const recorded = await Promise.all(outcomes.map((o) => writer.write(o)));

      expect(recorded.map((r) => [r.build.id, r.build.status, r.changed])).toEqual(
        outcomes.map((o) => [o.seen.id, "running", true]),
      );
      const rows = await buildRows(outcomes);
      expect(rows.map((r) => [r.status, Number(r.poll_generation), Number(r.status_calls)])).toEqual(
        rows.map(() => ["running", 1, 1]),
      );
      expect(rows.map((r) => JSON.parse(r.metadata))).toEqual(rows.map(() => ({ step: "compile" })));
      const history = await db.sql<{ build_id: string; status: string }>(
        "SELECT build_id, status FROM build_status_history WHERE build_id IN (?) AND status = 'running'",
        [ids(outcomes)],
      );
      expect(history).toHaveLength(12);
      // The next poll of each build: generation 1, due after the poll delay.
      const polls = await nextPolls(outcomes);
      expect(polls.map((r) => [r.partition_key, r.message_id, Number(r.delay)])).toEqual(
        [...ids(outcomes)].sort().map((id) => [id, occasionId("poll", id, 1), NEXT_DELAY_MS]),
      );
      const speculate = await db.sql<{ message_id: string }>(
        "SELECT message_id FROM queue_messages WHERE topic = 'speculate' AND partition_key LIKE 'shared-batch-%'",
      );
      expect(speculate).toHaveLength(12);
      expect(await acked("g-shared", outcomes)).toBe(12);
      // Made in one turn of the event loop, the 12 go in one transaction.
      expect(transactions).toBe(1);
    } finally {
      await sub.close();
    }
  });

  it("writes each poll alone when a build's status moved under the shared transaction, and keeps a finished build finished", async () => {
    const { sub, outcomes } = await polled("moved", 5);
    try {
      const raced = outcomes[2] as PollOutcome;
      // A push (a cancel) recorded the build as finished after the poll read it.
      await db.sql("UPDATE builds SET status = 'cancelled' WHERE id = ?", [raced.seen.id]);
      const writer = new PollWriter(p.deps);
      const recorded = await Promise.all(outcomes.map((o) => writer.write(o)));

      expect(recorded.map((r) => [r.build.status, r.changed])).toEqual(
        outcomes.map((o) => (o === raced ? ["cancelled", false] : ["running", true])),
      );
      const rows = await buildRows(outcomes);
      expect(rows.find((r) => r.id === raced.seen.id)?.status).toBe("cancelled");
      expect(rows.filter((r) => r.status === "running")).toHaveLength(4);
      expect(await acked("g-moved", outcomes)).toBe(5);
    } finally {
      await sub.close();
    }
  });

  it("fails only the poll whose delivery was taken over; the others are written", async () => {
    const { sub, outcomes } = await polled("taken", 4);
    try {
      const lost = outcomes[1] as PollOutcome;
      // As if its visibility timeout passed and the message went out again: a new attempt owns the row.
      await db.sql(
        "UPDATE queue_deliveries SET attempts = attempts + 1 WHERE consumer_group = 'g-taken' AND topic = 'buildsignal' AND partition_key = ?",
        [lost.seen.id],
      );
      const writer = new PollWriter(p.deps);
      const results = await Promise.allSettled(outcomes.map((o) => writer.write(o)));

      results.forEach((r, i) => {
        if (outcomes[i] === lost) {
          expect(r.status).toBe("rejected");
          expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "DELIVERY_EXPIRED" });
        } else expect(r).toMatchObject({ status: "fulfilled", value: { changed: true } });
      });
      const rows = await buildRows(outcomes);
      // Nothing of the lost poll committed: its new owner records it.
      expect(rows.map((r) => [r.id, r.status])).toEqual(
        rows.map((r) => [r.id, r.id === lost.seen.id ? "accepted" : "running"]),
      );
      expect((await nextPolls(outcomes)).map((r) => r.partition_key)).not.toContain(lost.seen.id);
      expect(await acked("g-taken", outcomes)).toBe(3);
    } finally {
      await sub.close();
    }
  });
});
