// One clock: a queue that compared delays and visibility on the publisher's
// and the subscriber's clocks would deliver early or late whenever the two
// disagree. Here the worker's clock is pushed 10 minutes ahead or behind;
// deferral, visibility timeouts and nack delays still follow the database's
// clock, and nothing is delivered before its time.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createQueue, type Queue } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { nextDelivery } from "@/tests/helpers/wait";

let db: TestDatabase;
let queue: Queue;

beforeAll(async () => {
  db = await freshDatabase("clock");
  queue = createQueue({ url: db.url });
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await queue.close();
  await db.drop();
});

function skewAppClock(ms: number) {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, "now").mockImplementation(() => real() + ms);
}

async function deliveryRow(topic: string) {
  const [row] = await db.sql<{ first_delivered_at: number; updated_at: number; visible_at: number }>(
    "SELECT first_delivered_at, updated_at, visible_at FROM queue_deliveries WHERE topic = ?",
    [topic],
  );
  return {
    first: Number(row?.first_delivered_at),
    updated: Number(row?.updated_at),
    visibleAt: Number(row?.visible_at),
  };
}

describe.each([
  ["ahead", 10 * 60_000],
  ["behind", -10 * 60_000],
])("with the application clock 10 minutes %s", (label, skew) => {
  it("delivers a publishAfter message no earlier than its visible_after", async () => {
    skewAppClock(skew);
    const topic = `clock.after.${label}`;
    await queue.publisher.publishAfter(topic, { id: "d", partitionKey: "P", payload: "x" }, 1500);
    const [msg] = await db.sql<{ visible_after: number; published_at: number }>(
      "SELECT visible_after, published_at FROM queue_messages WHERE topic = ?",
      [topic],
    );
    expect(Number(msg?.visible_after) - Number(msg?.published_at)).toBe(1500);
    const sub = queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", pollIntervalMs: 10 });
    const d = await nextDelivery(sub[Symbol.asyncIterator](), "the deferred message");
    const row = await deliveryRow(topic);
    expect(row.first).toBeGreaterThanOrEqual(Number(msg?.visible_after));
    await d.ack();
    await sub.close();
  });

  it("redelivers after a visibility timeout and a nack delay on the database's clock", async () => {
    skewAppClock(skew);
    const topic = `clock.vis.${label}`;
    await queue.publisher.publish(topic, { id: "v", partitionKey: "P", payload: "x" });
    const sub = queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
      visibilityTimeoutMs: 800,
      maxAttempts: 5,
    });
    const it = sub[Symbol.asyncIterator]();
    const first = await nextDelivery(it, "first delivery");
    const before = await deliveryRow(topic);
    // Not settled: it comes back once the visibility timeout passes.
    const second = await nextDelivery(it, "redelivery after the visibility timeout");
    expect(second.attempt).toBe(2);
    const after = await deliveryRow(topic);
    expect(after.updated).toBeGreaterThanOrEqual(before.visibleAt);
    expect(first.attempt).toBe(1);

    await second.nack({ requeueAfterMs: 700 });
    const nacked = await deliveryRow(topic);
    const third = await nextDelivery(it, "redelivery after the nack delay");
    expect(third.attempt).toBe(3);
    const last = await deliveryRow(topic);
    expect(last.updated).toBeGreaterThanOrEqual(nacked.visibleAt);
    expect(nacked.visibleAt - nacked.updated).toBe(700);
    await third.ack();
    await sub.close();
  });
});
