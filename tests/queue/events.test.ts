// The events the queue reports for metrics.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, type Queue, type QueueEvent } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { take } from "@/tests/helpers/wait";

let db: TestDatabase;
let queue: Queue;
const events: QueueEvent[] = [];

beforeAll(async () => {
  db = await freshDatabase("events");
  queue = createQueue({
    url: db.url,
    onEvent: (e) => {
      events.push(e);
      // A listener that throws must not break the queue.
      if (e.type === "poll") throw new Error("listener bug");
    },
  });
});
afterAll(async () => {
  await queue.close();
  await db.drop();
});

describe("queue events", () => {
  it("reports publishes, deliveries with latency, settles with their outcome, and polls", async () => {
    await queue.publisher.publish("ev.t", [
      { id: "a", partitionKey: "P", payload: "x" },
      { id: "b", partitionKey: "P", payload: "x" },
      { id: "c", partitionKey: "P", payload: "x" },
    ]);
    await queue.publisher.publishAfter("ev.t", { id: "later", partitionKey: "Q", payload: "x" }, 60_000);
    const sub = queue.subscriber.subscribe("ev.t", {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
      maxAttempts: 1,
    });
    await take(sub, 3, (d) =>
      d.message.id === "a" ? d.ack() : d.message.id === "b" ? d.nack({ reason: "no" }) : d.reject("bad"),
    );
    await sub.close();
    const published = events.filter((e) => e.type === "published");
    expect(published).toEqual([
      { type: "published", topic: "ev.t", count: 3 },
      { type: "published", topic: "ev.t", count: 1 },
    ]);
    const delivered = events.filter((e) => e.type === "delivered");
    expect(delivered).toHaveLength(3);
    for (const e of delivered) {
      expect(e).toMatchObject({ topic: "ev.t", group: "g", attempt: 1 });
      if (e.type === "delivered") expect(e.latencyMs).toBeGreaterThanOrEqual(0);
    }
    const settled = events.flatMap((e) => (e.type === "settled" ? [e.outcome] : []));
    // b is nacked on its last attempt (maxAttempts 1): that is a dead letter too.
    expect(settled).toEqual(["acked", "dead_lettered", "dead_lettered"]);
    expect(events.some((e) => e.type === "poll")).toBe(true);
  });
});
