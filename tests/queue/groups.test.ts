// Consumer groups: each sees every message with its own delivery state; a
// late group starts from the oldest message still retained; garbage
// collection deletes only what every registered group has passed.
import { describe, expect, it } from "vitest";
import type { Delivery, Subscription, SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take } from "@/tests/helpers/wait";

const suite = queueSuite("groups");

function subscribe(topic: string, group: string, opts: Partial<SubscriptionInput> = {}): Subscription {
  const sub = suite.queue.subscriber.subscribe(topic, {
    subscriberName: `s-${group}`,
    consumerGroup: group,
    pollIntervalMs: 10,
    ...opts,
  });
  suite.track(sub);
  return sub;
}

const tag = (d: Delivery) => `${d.message.id}#${d.attempt}`;

async function messageIds(topic: string): Promise<string[]> {
  const rows = await suite.db.sql<{ message_id: string }>(
    "SELECT message_id FROM queue_messages WHERE topic = ? ORDER BY partition_key, seq",
    [topic],
  );
  return rows.map((r) => r.message_id);
}

async function watermark(topic: string, group: string, partitionKey: string): Promise<number> {
  const [row] = await suite.db.sql<{ watermark: number }>(
    "SELECT watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ?",
    [group, topic, partitionKey],
  );
  return Number(row?.watermark ?? 0);
}

async function headSeq(topic: string, partitionKey: string): Promise<number> {
  const [row] = await suite.db.sql<{ head_seq: number }>(
    "SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?",
    [topic, partitionKey],
  );
  return Number(row?.head_seq ?? 0);
}

function tenMessages(prefix = "m") {
  return Array.from({ length: 10 }, (_, i) => ({ id: `${prefix}${i}`, partitionKey: "p", payload: String(i) }));
}

describe("consumer groups", () => {
  it("give every group every message, with delivery state of its own", async () => {
    const topic = "gr.independent";
    await suite.queue.publisher.publish(topic, [
      { id: "m1", partitionKey: "p1", payload: "1" },
      { id: "m2", partitionKey: "p1", payload: "2" },
      { id: "m3", partitionKey: "p2", payload: "3" },
    ]);

    // Group A fails m1 until it runs out of attempts, rejects m2, acks m3.
    const a = subscribe(topic, "A", { maxAttempts: 2, batchSize: 1 });
    const seenA: string[] = [];
    await take(a, 4, async (d) => {
      seenA.push(tag(d));
      if (d.message.id === "m1") await d.nack({ reason: "A cannot do m1" });
      else if (d.message.id === "m2") await d.reject("A refuses m2");
      else await d.ack();
    });
    expect(seenA.filter((t) => t.startsWith("m1"))).toEqual(["m1#1", "m1#2"]);
    expect(seenA.filter((t) => !t.startsWith("m1")).sort()).toEqual(["m2#1", "m3#1"]);
    expect(await watermark(topic, "A", "p1")).toBe(await headSeq(topic, "p1"));

    // Groups B and C, after A has dead-lettered m1 and m2, and at the same time as each other:
    // both still get all three, once each, on the first attempt, and ack them.
    const [seenB, seenC] = await Promise.all(
      ["B", "C"].map(async (g) => (await take(subscribe(topic, g), 3)).map(tag).sort()),
    );
    expect(seenB).toEqual(["m1#1", "m2#1", "m3#1"]);
    expect(seenC).toEqual(["m1#1", "m2#1", "m3#1"]);
    for (const g of ["B", "C"]) {
      expect(await watermark(topic, g, "p1")).toBe(await headSeq(topic, "p1"));
      expect(await watermark(topic, g, "p2")).toBe(await headSeq(topic, "p2"));
    }

    // The DLQ holds A's two failures, each once, and nothing from B or C.
    const dlq = await suite.db.sql<{
      message_id: string;
      original_group: string;
      failure_count: number;
      failure_reason: string;
    }>(
      "SELECT message_id, original_group, failure_count, failure_reason FROM queue_messages WHERE topic = ? ORDER BY message_id",
      [`${topic}_dlq`],
    );
    expect(dlq.map((r) => [r.message_id, r.original_group, Number(r.failure_count)])).toEqual([
      ["m1", "A", 2],
      ["m2", "A", 1],
    ]);
    expect(dlq[0]?.failure_reason).toContain("A cannot do m1");
    expect(dlq[1]?.failure_reason).toContain("A refuses m2");
    // The original log rows are untouched by A's DLQ moves.
    expect(await messageIds(topic)).toEqual(["m1", "m2", "m3"]);
  });

  it("let a group that fails a message leave another group's progress alone while both run", async () => {
    const topic = "gr.concurrent";
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, partitionKey: "p", payload: String(i) })),
    );
    const failing = subscribe(topic, "failing", { maxAttempts: 3, batchSize: 1 });
    const acking = subscribe(topic, "acking", { batchSize: 1 });
    const [seenFailing, seenAcking] = await Promise.all([
      take(failing, 18, (d) => d.nack({ reason: `no ${d.attempt}` })).then((ds) => ds.map(tag)),
      take(acking, 6).then((ds) => ds.map(tag)),
    ]);
    expect(seenAcking).toEqual(["m0#1", "m1#1", "m2#1", "m3#1", "m4#1", "m5#1"]);
    const expected = [0, 1, 2, 3, 4, 5].flatMap((i) => [`m${i}#1`, `m${i}#2`, `m${i}#3`]);
    expect(seenFailing).toEqual(expected);
    const dlq = await suite.db.sql<{ message_id: string; original_group: string }>(
      "SELECT message_id, original_group FROM queue_messages WHERE topic = ? ORDER BY seq",
      [`${topic}_dlq`],
    );
    expect(dlq.map((r) => `${r.message_id}:${r.original_group}`)).toEqual([
      "m0:failing",
      "m1:failing",
      "m2:failing",
      "m3:failing",
      "m4:failing",
      "m5:failing",
    ]);
  });

  it("start a late group at the oldest message garbage collection kept", async () => {
    const topic = "gr.late";
    await suite.queue.publisher.publish(topic, tenMessages());
    await take(subscribe(topic, "early-all"), 10);
    // The second early group finishes only the first 4 and goes away.
    const partial = subscribe(topic, "early-part", { batchSize: 1 });
    expect((await take(partial, 4)).map((d) => d.message.id)).toEqual(["m0", "m1", "m2", "m3"]);
    await partial.close();
    await suite.queue.admin.collectGarbage();
    expect(await messageIds(topic)).toEqual(["m4", "m5", "m6", "m7", "m8", "m9"]);

    const late = subscribe(topic, "late", { batchSize: 1 });
    const it = late[Symbol.asyncIterator]();
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      const d = await nextDelivery(it, `delivery ${i + 1} of the late group`, 5_000);
      got.push(tag(d));
      await d.ack();
    }
    expect(got).toEqual(["m4#1", "m5#1", "m6#1", "m7#1", "m8#1", "m9#1"]);
    // And then whatever is published next.
    await suite.queue.publisher.publish(topic, { id: "m10", partitionKey: "p", payload: "10" });
    const next = await nextDelivery(it, "the message published after the late group caught up", 5_000);
    expect(tag(next)).toBe("m10#1");
    await next.ack();
    expect(await watermark(topic, "late", "p")).toBe(await headSeq(topic, "p"));
  });

  it("start a late group at new messages when garbage collection took everything", async () => {
    const topic = "gr.late.empty";
    await suite.queue.publisher.publish(topic, tenMessages());
    await take(subscribe(topic, "early"), 10);
    await suite.queue.admin.collectGarbage();
    expect(await messageIds(topic)).toEqual([]);
    const late = subscribe(topic, "late");
    const it = late[Symbol.asyncIterator]();
    await suite.queue.publisher.publish(topic, { id: "new", partitionKey: "p", payload: "new" });
    const d = await nextDelivery(it, "the new message for the late group", 5_000);
    expect(tag(d)).toBe("new#1");
    await d.ack();
    expect(await watermark(topic, "late", "p")).toBe(await headSeq(topic, "p"));
  });
});

describe("garbage collection", () => {
  it("deletes only the rows every registered group has passed", async () => {
    const topic = "gr.gc";
    // Clear whatever earlier tests left collectible, so the counts below are this topic's.
    await suite.queue.admin.collectGarbage();
    await suite.queue.publisher.publish(topic, tenMessages());
    await take(subscribe(topic, "fast"), 10);
    const slow = subscribe(topic, "slow", { batchSize: 1 });
    await take(slow, 4);
    await slow.close();
    expect(await watermark(topic, "fast", "p")).toBe(10);
    expect(await watermark(topic, "slow", "p")).toBe(4);

    expect(await suite.queue.admin.collectGarbage()).toBe(4);
    expect(await messageIds(topic)).toEqual(["m4", "m5", "m6", "m7", "m8", "m9"]);
    // Nothing more to collect until the slow group moves.
    expect(await suite.queue.admin.collectGarbage()).toBe(0);
    expect(await messageIds(topic)).toHaveLength(6);

    const rest = await take(subscribe(topic, "slow", { batchSize: 1 }), 6);
    expect(rest.map((d) => d.message.id)).toEqual(["m4", "m5", "m6", "m7", "m8", "m9"]);
    expect(await suite.queue.admin.collectGarbage()).toBe(6);
    expect(await messageIds(topic)).toEqual([]);
  });

  it("waits for a registered group that has not consumed a partition yet", async () => {
    const topic = "gr.gc.unstarted";
    await suite.queue.admin.collectGarbage();
    await suite.queue.publisher.publish(topic, [
      { id: "a", partitionKey: "p1", payload: "a" },
      { id: "b", partitionKey: "p2", payload: "b" },
    ]);
    // Group "both" finishes both partitions; group "one-only" finishes p1 and never touches p2.
    await take(subscribe(topic, "both"), 2);
    await suite.queue.publisher.publish(topic, { id: "c", partitionKey: "p1", payload: "c" });
    const one = subscribe(topic, "one-only", { batchSize: 1 });
    const it = one[Symbol.asyncIterator]();
    const firstOfOne = await nextDelivery(it, "the first message for one-only", 5_000);
    // Whichever partition it got first, finish only that partition.
    const pk = firstOfOne.message.partitionKey;
    await firstOfOne.ack();
    await one.close();
    expect(await watermark(topic, "one-only", pk)).toBeGreaterThan(0);
    const other = pk === "p1" ? "p2" : "p1";
    expect(await watermark(topic, "one-only", other)).toBe(0);

    await suite.queue.admin.collectGarbage();
    // The partition one-only never consumed keeps everything.
    const left = await suite.db.sql<{ partition_key: string; message_id: string }>(
      "SELECT partition_key, message_id FROM queue_messages WHERE topic = ? AND partition_key = ?",
      [topic, other],
    );
    expect(left.length).toBeGreaterThan(0);
    // "both" has not seen c: nothing above its watermark is gone either.
    expect(await messageIds(topic)).toContain("c");
  });

  it("keeps everything in a topic no group has subscribed to, DLQ topics included", async () => {
    await suite.queue.admin.collectGarbage();
    const lonely = "gr.nogroup";
    await suite.queue.publisher.publish(lonely, tenMessages());
    const consumed = "gr.consumed";
    await suite.queue.publisher.publish(consumed, [
      { id: "ok", partitionKey: "p", payload: "ok" },
      { id: "bad", partitionKey: "p", payload: "bad" },
    ]);
    await take(subscribe(consumed, "g"), 2, (d) => (d.message.id === "bad" ? d.reject("bad") : d.ack()));

    // The same collection deletes the consumed topic's rows (so it did run), and nothing else.
    expect(await suite.queue.admin.collectGarbage()).toBe(2);
    expect(await messageIds(consumed)).toEqual([]);
    expect(await messageIds(lonely)).toEqual(tenMessages().map((m) => m.id));
    expect(await messageIds(`${consumed}_dlq`)).toEqual(["bad"]);
  });
});
