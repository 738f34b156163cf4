// The traffic rollup: what the queue did, per topic, group and minute,
// written in the transactions that did it. Counts are exact (summed over
// shards), concurrent writers lose nothing, a rolled-back transaction counts
// nothing, gauges come from garbage collection, and old minutes are pruned.
import { describe, expect, it } from "vitest";
import { NOW_MS_SQL } from "@/db/clock";
import { createQueue, type Delivery, type TrafficSeries } from "@/server/queue";
import { countTraffic } from "@/server/queue/rollup";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("traffic");

const messages = (n: number, prefix = "m", partitions = 1) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, partitionKey: `k${i % partitions}`, payload: "x" }));

const traffic = (topic: string, group?: string): Promise<TrafficSeries> =>
  suite.queue.inspect.traffic(topic, { group, range: "1h" });

describe("traffic rollup", () => {
  it("says exactly what was published, acked, nacked and dead-lettered", async () => {
    const topic = "traffic.exact";
    await suite.queue.publisher.publish(topic, messages(10));
    await suite.queue.publisher.publish(topic, { id: "one-more", partitionKey: "k1", payload: "x" });
    await suite.queue.publisher.publishAfter(topic, { id: "later", partitionKey: "k2", payload: "x" }, 3_600_000);
    const sub = suite.track(
      suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", batchSize: 10 }),
    );
    let n = 0;
    // 11 visible: 6 acked, 3 nacked an hour away, 2 rejected to the DLQ.
    await take(sub, 11, async (d: Delivery) => {
      n++;
      if (n <= 6) await d.ack();
      else if (n <= 9) await d.nack({ requeueAfterMs: 3_600_000, reason: "later" });
      else await d.reject("poison");
    });

    const t = await traffic(topic, "g");
    expect(t.totals).toEqual({ published: 12, acked: 6, nacked: 3, deadLettered: 2 });
    expect(t.published).toHaveLength(60);
    // The DLQ's inflow is what was published into it.
    expect((await traffic(`${topic}_dlq`)).totals.published).toBe(2);
    // Summed over shards and minutes, the rows hold the same.
    const [raw] = await suite.db.sql<{ acked: number; rows: number }>(
      "SELECT SUM(acked) AS acked, COUNT(*) AS `rows` FROM queue_traffic WHERE topic = ? AND consumer_group = 'g'",
      [topic],
    );
    expect(Number(raw?.acked)).toBe(6);
    expect(Number(raw?.rows)).toBeGreaterThanOrEqual(1);
  });

  it("counts a message dead-lettered by the fetch once its last visibility timeout expired", async () => {
    const topic = "traffic.expired";
    await suite.queue.publisher.publish(topic, messages(1));
    const sub = suite.track(
      suite.queue.subscriber.subscribe(topic, {
        subscriberName: "s",
        consumerGroup: "g",
        maxAttempts: 1,
        visibilityTimeoutMs: 100,
        pollIntervalMs: 10,
      }),
    );
    // Held and never settled; asking for the next delivery keeps the subscriber fetching, and
    // the fetch after the timeout moves it to the DLQ.
    const it = sub[Symbol.asyncIterator]();
    await nextDelivery(it);
    void it.next();
    const t = await until(async () => {
      const x = await traffic(topic, "g");
      return x.totals.deadLettered === 1 ? x : undefined;
    }, "the expired message counted as dead-lettered");
    expect(t.totals).toMatchObject({ published: 1, acked: 0, nacked: 0, deadLettered: 1 });
    expect((await traffic(`${topic}_dlq`)).totals.published).toBe(1);
  });

  it("counts nothing of a transaction that rolled back, and a publish and an ack in one transaction once each", async () => {
    const topic = "traffic.tx";
    await expect(
      suite.queue.transaction(async (tx) => {
        await suite.queue.publisher.publish(topic, messages(3), { tx });
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect((await traffic(topic)).totals.published).toBe(0);

    await suite.queue.publisher.publish(topic, messages(1, "first"));
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g" }));
    const [d] = await take(sub, 1, async () => {});
    await suite.queue.transaction(async (tx) => {
      await d?.ack({ tx });
      await suite.queue.publisher.publish(topic, messages(2, "next"), { tx });
    });
    expect((await traffic(topic, "g")).totals).toMatchObject({ published: 3, acked: 1 });
  });

  it("keeps exact counts when many transactions add to the same minute at once", async () => {
    const topic = "traffic.parallel";
    // Two queues (two pools, so several connections and shards) settling the same topic's partitions.
    const other = createQueue({ url: suite.db.url });
    try {
      await suite.queue.publisher.publish(topic, messages(300, "m", 30));
      const subscribe = (q: typeof other, name: string) =>
        suite.track(q.subscriber.subscribe(topic, { subscriberName: name, consumerGroup: "g", batchSize: 5 }));
      let settled = 0;
      const a = subscribe(suite.queue, "a");
      const b = subscribe(other, "b");
      const drain = async (sub: typeof a) => {
        for await (const d of sub) {
          settled++;
          await (settled % 3 === 0 ? d.nack({ requeueAfterMs: 3_600_000 }) : d.ack());
        }
      };
      const draining = Promise.all([drain(a), drain(b)]);
      const t = await until(
        async () => {
          const x = await traffic(topic, "g");
          return x.totals.acked + x.totals.nacked >= 300 ? x : undefined;
        },
        "300 settles counted",
        60_000,
      );
      await Promise.all([a.close(), b.close()]);
      await draining;
      expect(settled).toBe(300);
      expect(t.totals).toEqual({ published: 300, acked: 200, nacked: 100, deadLettered: 0 });
    } finally {
      await other.close();
    }

    // The same row from 16 transactions at once, 25 times each: no increment lost.
    const hot = "traffic.hot";
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 25; i++) {
          await suite.raw.tx(async (c) => {
            countTraffic(c, hot, "g", { acked: 1 });
            await c.commitWith([]);
          });
        }
      }),
    );
    expect((await traffic(hot, "g")).totals.acked).toBe(400);
  });

  it("samples each group's lag and oldest-pending age when garbage collection runs", async () => {
    const topic = "traffic.gauges";
    await suite.db.sql("INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES ('idle', ?, 0)", [topic]);
    await suite.queue.publisher.publish(topic, messages(5, "m", 2));
    await suite.queue.admin.collectGarbage();
    const t = await traffic(topic, "idle");
    const lags = t.lag.filter((x): x is number => x !== null);
    expect(lags.at(-1)).toBe(5);
    const ages = t.oldestPendingMs.filter((x): x is number => x !== null);
    expect(ages.at(-1)).toBeGreaterThanOrEqual(0);
    expect(ages.at(-1)).toBeLessThan(60_000);
  });

  it("deletes minutes past the retention when garbage collection runs, and keeps the rest", async () => {
    const topic = "traffic.retention";
    const day = 24 * 3600_000;
    const [now] = await suite.db.sql<{ minute: number }>(`SELECT (${NOW_MS_SQL} DIV 60000) * 60000 AS minute`);
    const minute = Number(now?.minute);
    for (const [age, acked] of [
      [8 * day, 1],
      [6 * day, 2],
      [2 * day, 4],
    ] as const) {
      await suite.db.sql(
        "INSERT INTO queue_traffic (topic, minute, consumer_group, shard, acked) VALUES (?, ?, 'g', 3, ?)",
        [topic, minute - age, acked],
      );
    }
    const kept = async () =>
      (
        await suite.db.sql<{ acked: number }>("SELECT acked FROM queue_traffic WHERE topic = ? ORDER BY minute", [
          topic,
        ])
      ).map((r) => Number(r.acked));
    await suite.queue.admin.collectGarbage();
    expect(await kept()).toEqual([2, 4]);
    await suite.queue.admin.collectGarbage({ trafficRetentionDays: 3 });
    expect(await kept()).toEqual([4]);
  });
});
