// queue.traffic and queue.sparklines called in-process as the console calls
// them: the counts of real publishes and settles, per group and for the
// topic, the DLQ's inflow, the overview's last hour, and bad input refused.
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "@/server/pipeline";
import { appRouter } from "@/server/trpc/router";
import { contextAs, VIEWER } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { take } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;

beforeAll(async () => {
  db = await freshDatabase("trpctraffic");
  p = open(db.url, await pipelineConfig({ queues: { main: { kind: "noop" } } }));
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

const caller = () => appRouter.createCaller(contextAs(() => p.deps, VIEWER));
const rejection = (promise: Promise<unknown>) => rejectionOf(promise, TRPCError);

describe("queue.traffic and queue.sparklines", () => {
  it("answer with the minutes' counts of what the queue did", async () => {
    const topic = "ttr.orders";
    const q = p.deps.queue;
    await q.publisher.publish(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, partitionKey: "k", payload: "x" })),
    );
    const sub = q.subscriber.subscribe(topic, {
      subscriberName: "console-test",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    let n = 0;
    await take(sub, 5, async (d) => {
      n++;
      if (n <= 3) await d.ack();
      else if (n === 4) await d.nack({ requeueAfterMs: 3_600_000 });
      else await d.reject("bad");
    });
    await sub.close();

    const day = await caller().queue.traffic({ topic, group: "g", range: "24h" });
    expect(day.published).toHaveLength(1440);
    expect(day.totals).toEqual({ published: 5, acked: 3, nacked: 1, deadLettered: 1 });
    const hour = await caller().queue.traffic({ topic, range: "1h" });
    expect(hour.group).toBeNull();
    expect(hour.totals).toEqual(day.totals);
    // The minutes are on the database's clock, a minute apart, the last one now.
    expect(hour.from % 60_000).toBe(0);
    expect(Math.abs(hour.from + 59 * 60_000 - Date.now())).toBeLessThan(2 * 60_000);
    const dlq = await caller().queue.traffic({ topic: `${topic}_dlq`, range: "1h" });
    expect(dlq.totals.published).toBe(1);

    const spark = await caller().queue.sparklines();
    const row = spark.topics.find((t) => t.topic === topic);
    expect(row?.published.reduce((a, b) => a + b, 0)).toBe(5);
    expect(row?.groups.map((g) => [g.group, g.acked.reduce((a, b) => a + b, 0)])).toEqual([["g", 3]]);
  });

  it("refuses a range, topic or group it does not know with BAD_REQUEST", async () => {
    const bad = [
      caller().queue.traffic({ topic: "ttr.orders", range: "7d" as "1h" }),
      caller().queue.traffic({ topic: "bad topic", range: "1h" }),
      caller().queue.traffic({ topic: "ttr.orders", group: "", range: "1h" }),
    ];
    for (const call of bad) expect((await rejection(call)).code).toBe("BAD_REQUEST");
  });
});
