// Settles of one queue are written in batches: those made while a flush is in
// flight go together in the next one, each resolves only once its row is
// committed, and one whose delivery changed underneath fails alone.
import { describe, expect, it } from "vitest";
import type { Delivery, QueueError } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take, until } from "@/tests/helpers/wait";

const suite = queueSuite("batch");

async function tenDeliveries(topic: string) {
  await suite.queue.publisher.publish(
    topic,
    Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, partitionKey: "k", payload: `p${i}` })),
  );
  const sub = suite.track(
    suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", batchSize: 10 }),
  );
  // Taken without settling: all ten come from one fetch of the partition.
  return take(sub, 10, async () => {});
}

async function deliveryStates(topic: string) {
  return suite.db.sql<{ seq: number; state: number; attempts: number }>(
    "SELECT seq, state, attempts FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g' ORDER BY seq",
    [topic],
  );
}

describe("batched settles", () => {
  it("writes settles made together in a few transactions, not one each", async () => {
    const ds = await tenDeliveries("batch.few");
    const before = suite.queue.statementCount();
    await Promise.all(ds.map((d) => d.ack()));
    const sent = suite.queue.statementCount() - before;
    // One settle alone is a transaction of about seven statements; ten of
    // them one by one would be seventy. Batched: the first flush, then the rest.
    expect(sent).toBeLessThanOrEqual(20);
    const states = await deliveryStates("batch.few");
    expect(states.map((r) => Number(r.state))).toEqual(Array(10).fill(1));
    // The partition is finished: its watermark moved to the head.
    const [g] = await suite.db.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE topic = 'batch.few' AND consumer_group = 'g'",
    );
    expect(Number(g?.watermark)).toBe(10);
  });

  it("fails a settle whose delivery went to someone else alone, and commits the rest of its batch", async () => {
    const ds = await tenDeliveries("batch.expired");
    const [first, second, ...rest] = ds as [Delivery, Delivery, ...Delivery[]];
    // As if the first one's visibility timeout passed and it was fetched again elsewhere.
    await suite.db.sql(
      "UPDATE queue_deliveries SET attempts = attempts + 1 WHERE topic = 'batch.expired' AND consumer_group = 'g' AND seq = 1",
    );
    const results = await Promise.allSettled([
      first.ack(),
      second.nack({ requeueAfterMs: 60_000, reason: "later" }),
      ...rest.map((d) => d.ack()),
    ]);
    const failed = results[0];
    expect(failed?.status).toBe("rejected");
    expect(((failed as PromiseRejectedResult).reason as QueueError).code).toBe("DELIVERY_EXPIRED");
    expect(results.slice(1).every((r) => r.status === "fulfilled")).toBe(true);
    const states = await deliveryStates("batch.expired");
    // seq 1 untouched (still in flight, attempt 2); seq 2 nacked (in flight, no owner); the rest acked.
    expect(states.map((r) => [Number(r.seq), Number(r.state), Number(r.attempts)])).toEqual([
      [1, 0, 2],
      [2, 0, 1],
      ...Array.from({ length: 8 }, (_, i) => [i + 3, 1, 1]),
    ]);
    const [g] = await suite.db.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE topic = 'batch.expired' AND consumer_group = 'g'",
    );
    expect(Number(g?.watermark)).toBe(0);
  });

  it("writes acks, nacks and rejects of several partitions in one flush, each with its own outcome", async () => {
    const topic = "batch.mixed";
    await suite.queue.publisher.publish(topic, [
      { id: "a", partitionKey: "k1", payload: "a" },
      { id: "b", partitionKey: "k2", payload: "b" },
      { id: "c", partitionKey: "k3", payload: "c" },
    ]);
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g" }));
    const ds = await take(sub, 3, async () => {});
    const byId = new Map(ds.map((d) => [d.message.id, d]));
    await Promise.all([
      byId.get("a")?.ack(),
      byId.get("b")?.nack({ requeueAfterMs: 0, reason: "try again" }),
      byId.get("c")?.reject("poison"),
    ]);
    const dlq = await suite.db.sql<{ message_id: string; failure_reason: string }>(
      "SELECT message_id, failure_reason FROM queue_messages WHERE topic = 'batch.mixed_dlq'",
    );
    expect(dlq).toEqual([{ message_id: "c", failure_reason: "poison" }]);
    // The nacked one comes back with attempt 2; nothing else does.
    const [again] = await take(sub, 1);
    expect(again?.message.id).toBe("b");
    expect(again?.attempt).toBe(2);
    await until(async () => {
      const rows = await suite.db.sql<{ n: number }>(
        "SELECT COUNT(*) AS n FROM queue_group_partitions WHERE topic = ? AND watermark = 1",
        [topic],
      );
      return Number(rows[0]?.n) === 3;
    }, "every partition's watermark past its one row");
  });
});
