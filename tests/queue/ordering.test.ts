// Order within a partition, independence of partitions, strict serialization.
import { describe, expect, it } from "vitest";
import type { Delivery } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take } from "@/tests/helpers/wait";

const suite = queueSuite("order");

describe("ordering", () => {
  it("delivers each partition's messages in publish order", async () => {
    const topic = "ord.order";
    for (let batch = 0; batch < 5; batch++) {
      const msgs = [];
      for (let i = 0; i < 20; i++) {
        const n = batch * 20 + i;
        msgs.push({ id: `m${n}`, partitionKey: `p${n % 3}`, payload: String(n) });
      }
      await suite.queue.publisher.publish(topic, msgs);
    }
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const got = await take(sub, 100);
    await sub.close();
    for (const p of ["p0", "p1", "p2"]) {
      const seen = got.filter((d) => d.message.partitionKey === p).map((d) => Number(d.message.payload.toString()));
      expect(seen.length).toBeGreaterThan(30);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    }
  });

  it("does not let a stuck partition hold up another", async () => {
    const topic = "ord.independent";
    await suite.queue.publisher.publish(topic, [
      { id: "a1", partitionKey: "slow", payload: "a1" },
      { id: "a2", partitionKey: "slow", payload: "a2" },
    ]);
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
      batchSize: 1,
    });
    const it = sub[Symbol.asyncIterator]();
    const stuck = await nextDelivery(it, "the slow partition's first message");
    expect(stuck.message.id).toBe("a1");
    // a1 is never settled here; messages published to another partition still flow.
    await suite.queue.publisher.publish(topic, [
      { id: "b1", partitionKey: "fast", payload: "b1" },
      { id: "b2", partitionKey: "fast", payload: "b2" },
    ]);
    const other: Delivery[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await nextDelivery(it, "the fast partition");
      other.push(d);
      await d.ack();
    }
    expect(other.map((d) => d.message.id)).toEqual(["b1", "b2"]);
    await stuck.ack();
    const a2 = await nextDelivery(it, "a2 after a1 is acked");
    expect(a2.message.id).toBe("a2");
    await a2.ack();
    await sub.close();
  });

  it("with batchSize 1 never has two messages of a partition out at once", async () => {
    const topic = "ord.serial";
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, partitionKey: "only", payload: String(i) })),
    );
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
      batchSize: 1,
    });
    const it = sub[Symbol.asyncIterator]();
    let outstanding = 0;
    let maxOutstanding = 0;
    const order: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = await nextDelivery(it, `message ${i}`);
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      order.push(Number(d.message.payload.toString()));
      // Ask for the next one before settling this one: it must not arrive until we ack.
      const pending = it.next();
      const raced = await Promise.race([
        pending.then(() => "delivered"),
        suite.db.sql("SELECT SLEEP(0.15)").then(() => "idle"),
      ]);
      expect(raced).toBe("idle");
      await d.ack();
      outstanding--;
      const n = await pending;
      if (n.done) throw new Error("ended early");
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      order.push(Number(n.value.message.payload.toString()));
      await n.value.ack();
      outstanding--;
      i++;
    }
    expect(maxOutstanding).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await sub.close();
  });
});
