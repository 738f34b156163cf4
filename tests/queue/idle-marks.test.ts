// A partition whose rows are all deferred is marked idle for the group until
// its next row is due: the ready scan skips it with a column compare. The
// mark must never hide work: a new publish, "deliver now", an offset reset
// and the due time itself each bring the partition back.
import { describe, expect, it } from "vitest";
import { createQueue, type SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, until } from "@/tests/helpers/wait";

const suite = queueSuite("idlemark");

async function idleMark(topic: string) {
  const [row] = await suite.db.sql<{ idle_until: number | null; idle_head: number | null; lease_owner: string | null }>(
    "SELECT idle_until, idle_head, lease_owner FROM queue_group_partitions WHERE topic = ? AND consumer_group = 'g'",
    [topic],
  );
  return row;
}

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.track(
    suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", pollIntervalMs: 20, ...opts }),
  );
  return { sub, it: sub[Symbol.asyncIterator]() };
}

describe("idle marks", () => {
  it("marks a partition of deferred rows idle until the first is due, and a new publish brings it back", async () => {
    const topic = "mark.publish";
    await suite.queue.publisher.publishAfter(topic, { id: "late", partitionKey: "k", payload: "x" }, 3_600_000);
    const { it: iter } = subscribe(topic);
    const pending = nextDelivery(iter, "the message published after the deferred one");
    const mark = await until(async () => {
      const m = await idleMark(topic);
      return m?.idle_until != null && m.lease_owner === null ? m : undefined;
    }, "the partition marked idle with its lease given back");
    const [due] = await suite.db.sql<{ visible_after: number }>(
      "SELECT visible_after FROM queue_messages WHERE topic = ? AND message_id = 'late'",
      [topic],
    );
    expect(Number(mark.idle_until)).toBe(Number(due?.visible_after));
    expect(Number(mark.idle_head)).toBe(1);
    await suite.queue.publisher.publish(topic, { id: "now", partitionKey: "k", payload: "x" });
    const d = await pending;
    expect(d.message.id).toBe("now");
    await d.ack();
  });

  it("delivers a deferred message at once after 'deliver now', although its partition was marked idle", async () => {
    const topic = "mark.delivernow";
    await suite.queue.publisher.publishAfter(topic, { id: "late", partitionKey: "k", payload: "x" }, 3_600_000);
    const { it: iter } = subscribe(topic);
    const pending = nextDelivery(iter, "the message delivered now");
    await until(async () => (await idleMark(topic))?.idle_until != null, "the partition marked idle");
    expect(await suite.queue.admin.deliverNow([{ topic, partitionKey: "k", seq: 1 }])).toBe(1);
    const d = await pending;
    expect(d.message.id).toBe("late");
    await d.ack();
  });

  it("wakes when the topic's next deferred row is due instead of at the next scan", async () => {
    const topic = "mark.due";
    const sub = suite.track(
      // A scan every 10 s: only the wake-up at the due time can deliver within the deadline below.
      suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", pollIntervalMs: 10_000 }),
    );
    const iter = sub[Symbol.asyncIterator]();
    await suite.queue.publisher.publishAfter(topic, { id: "soon", partitionKey: "k", payload: "x" }, 1_500);
    // The first poll leases the partition and finds the row not yet due; due within half a lease, it keeps the lease.
    const d = await nextDelivery(iter, "the deferred message", 6_000);
    const [row] = await suite.db.sql<{ early: number }>(
      `SELECT d.first_delivered_at < m.visible_after AS early FROM queue_messages m
       JOIN queue_deliveries d ON d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
       WHERE m.topic = ?`,
      [topic],
    );
    expect(Number(row?.early)).toBe(0);
    await d.ack();
  });

  it("keeps the lease of a partition whose next row is due soon, and still sees a publish from elsewhere", async () => {
    const topic = "mark.kept";
    const { it: iter } = subscribe(topic);
    await suite.queue.publisher.publishAfter(topic, { id: "soon", partitionKey: "k", payload: "x" }, 8_000);
    const pending = nextDelivery(iter, "the message published while the lease was kept", 5_000);
    await until(async () => (await idleMark(topic))?.lease_owner != null, "the partition leased");
    // Another Queue instance: no in-process wake-up, only the scan can see it.
    const other = createQueue({ url: suite.db.url });
    try {
      await other.publisher.publish(topic, { id: "now", partitionKey: "k", payload: "x" });
    } finally {
      await other.close();
    }
    const d = await pending;
    expect(d.message.id).toBe("now");
    await d.ack();
  });

  it("after acking a partition's last delivery with its next row due soon, waits for that row without fetching again", async () => {
    const topic = "mark.probe";
    // No scan and no renewal falls in the measured stretch: what it sends is the settle's and the next fetch's.
    const { it: iter } = subscribe(topic, { pollIntervalMs: 60_000, leaseRenewalIntervalMs: 20_000 });
    await suite.queue.publisher.publish(topic, { id: "first", partitionKey: "k", payload: "x" });
    const first = await nextDelivery(iter, "the first message");
    const pending = nextDelivery(iter, "the deferred message", 6_000);
    // The build poll loop's step: the next message deferred, and this one acked, in one transaction.
    await suite.queue.transaction(async (tx) => {
      await suite.queue.publisher.publishAfter(topic, { id: "next", partitionKey: "k", payload: "x" }, 1_500, { tx });
      await first.ack({ tx });
    });
    const before = suite.queue.statementCount();
    const next = await pending;
    const sent = suite.queue.statementCount() - before;
    expect(next.message.id).toBe("next");
    // One fetch of the due row (begin, lock, blocking check, ready rows, mark in flight, commit) and the scan
    // the local publish asks for. A fetch that finds nothing ready first would add nine more.
    expect(sent).toBeLessThanOrEqual(8);
    const [row] = await suite.db.sql<{ early: number }>(
      `SELECT d.first_delivered_at < m.visible_after AS early FROM queue_messages m
       JOIN queue_deliveries d ON d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
       WHERE m.topic = ? AND m.message_id = 'next'`,
      [topic],
    );
    expect(Number(row?.early)).toBe(0);
    await next.ack();
  });

  it("gives a drained partition's lease back in the settle of its last delivery, with the marks a fetch would leave", async () => {
    const topic = "mark.release";
    const { it: iter } = subscribe(topic, { pollIntervalMs: 60_000, leaseRenewalIntervalMs: 20_000 });
    await suite.queue.publisher.publish(topic, [
      { id: "one", partitionKey: "k", payload: "x" },
      { id: "two", partitionKey: "k", payload: "x" },
    ]);
    const one = await nextDelivery(iter, "the first message");
    const two = await nextDelivery(iter, "the second message");
    await one.ack();
    expect((await idleMark(topic))?.lease_owner).not.toBeNull();
    await two.ack();
    // Given back by the ack's own transaction: no fetch was needed to learn the partition is drained.
    expect(await idleMark(topic)).toEqual({ idle_until: null, idle_head: 2, lease_owner: null });
    // A publish after it is found by the next scan and delivered.
    const pending = nextDelivery(iter, "the message published after the lease went back");
    await suite.queue.publisher.publish(topic, { id: "three", partitionKey: "k", payload: "x" });
    const three = await pending;
    expect(three.message.id).toBe("three");
    await three.ack();
  });

  it("keeps the lease through the settle when the partition's next row is due soon", async () => {
    const topic = "mark.keep";
    const { it: iter } = subscribe(topic, { pollIntervalMs: 60_000 });
    await suite.queue.publisher.publish(topic, { id: "now", partitionKey: "k", payload: "x" });
    const now = await nextDelivery(iter, "the message due now");
    await suite.queue.publisher.publishAfter(topic, { id: "soon", partitionKey: "k", payload: "x" }, 2_000);
    await now.ack();
    const mark = await idleMark(topic);
    expect(mark?.lease_owner).not.toBeNull();
    expect(mark?.idle_until).not.toBeNull();
    const soon = await nextDelivery(iter, "the message due soon", 6_000);
    expect(soon.message.id).toBe("soon");
    await soon.ack();
  });
});
