// (topic, partitionKey, id) is unique: a repeated publish succeeds and stores
// nothing. Ids name occasions, not entities (occasionId).
import { describe, expect, it } from "vitest";
import { type Delivery, occasionId, type Subscription, uniqueOccasionId } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery } from "@/tests/helpers/wait";

const suite = queueSuite("dedup");

function subscribe(topic: string, group = "g"): Subscription {
  const sub = suite.queue.subscriber.subscribe(topic, {
    subscriberName: "s",
    consumerGroup: group,
    pollIntervalMs: 10,
  });
  suite.track(sub);
  return sub;
}

async function rows(topic: string, partitionKey?: string) {
  return suite.db.sql<{ message_id: string; partition_key: string; payload: Buffer; visible_after: number }>(
    `SELECT message_id, partition_key, payload, visible_after FROM queue_messages
     WHERE topic = ? ${partitionKey === undefined ? "" : "AND partition_key = ?"} ORDER BY partition_key, seq`,
    partitionKey === undefined ? [topic] : [topic, partitionKey],
  );
}

/**
 * Publishes a sentinel into the partition and collects every delivery up to
 * and including it. The partition is delivered in log order, so anything
 * stored before the sentinel shows up here: a duplicate cannot hide.
 */
async function drainUntilSentinel(topic: string, partitionKey: string): Promise<string[]> {
  await suite.queue.publisher.publish(topic, { id: "__sentinel__", partitionKey, payload: "sentinel" });
  const it = subscribe(topic)[Symbol.asyncIterator]();
  const seen: string[] = [];
  for (;;) {
    const d = await nextDelivery(it, `deliveries of ${topic} up to the sentinel`);
    await d.ack();
    if (d.message.partitionKey !== partitionKey) continue;
    if (d.message.id === "__sentinel__") return seen;
    seen.push(`${d.message.id}=${d.message.payload.toString()}`);
  }
}

describe("dedup on publish", () => {
  it("stores a repeated publish of the same (topic, partitionKey, id) once and delivers it once", async () => {
    const topic = "dd.repeat";
    const msg = { id: "order-7:created", partitionKey: "order-7", payload: "first" };
    await suite.queue.publisher.publish(topic, msg);
    // A retry after a lost reply, and a retry with a different payload: both succeed, neither is stored.
    await expect(suite.queue.publisher.publish(topic, msg)).resolves.toBeUndefined();
    await expect(suite.queue.publisher.publish(topic, { ...msg, payload: "second" })).resolves.toBeUndefined();
    await expect(suite.queue.publisher.publish(topic, [msg, msg])).resolves.toBeUndefined();
    const stored = await rows(topic);
    expect(stored).toHaveLength(1);
    expect(stored[0]?.payload.toString()).toBe("first");
    expect(await drainUntilSentinel(topic, "order-7")).toEqual(["order-7:created=first"]);
    // The sequence numbers the swallowed publishes used are gaps, and the group's watermark moves past them.
    const [gp] = await suite.db.sql<{ watermark: number; head_seq: number }>(
      `SELECT g.watermark, p.head_seq FROM queue_group_partitions g
       JOIN queue_partitions p ON p.topic = g.topic AND p.partition_key = g.partition_key
       WHERE g.consumer_group = 'g' AND g.topic = ? AND g.partition_key = 'order-7'`,
      [topic],
    );
    expect(Number(gp?.head_seq)).toBeGreaterThan(2);
    expect(Number(gp?.watermark)).toBe(Number(gp?.head_seq));
  });

  it("stores one row when many publishers race with the same id", async () => {
    const topic = "dd.race";
    // Each publisher also writes to a second partition, in varying order, so they contend on locks.
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        suite.queue.publisher.publish(topic, [
          { id: "same", partitionKey: i % 2 ? "a" : "b", payload: `p${i}` },
          { id: "same", partitionKey: i % 2 ? "b" : "a", payload: `p${i}` },
        ]),
      ),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const stored = await rows(topic);
    expect(stored.map((r) => `${r.partition_key}:${r.message_id}`)).toEqual(["a:same", "b:same"]);
    expect(await drainUntilSentinel(topic, "a")).toHaveLength(1);
  });

  it("stores the same id in another partition and in another topic", async () => {
    const msg = { id: "same", partitionKey: "p1", payload: "a" };
    await suite.queue.publisher.publish("dd.scope", msg);
    await suite.queue.publisher.publish("dd.scope", { ...msg, partitionKey: "p2", payload: "b" });
    await suite.queue.publisher.publish("dd.scope.other", { ...msg, payload: "c" });
    // The case of a partition key counts too (binary collation).
    await suite.queue.publisher.publish("dd.scope", { ...msg, partitionKey: "P1", payload: "d" });
    expect((await rows("dd.scope")).map((r) => `${r.partition_key}:${r.message_id}`).sort()).toEqual([
      "P1:same",
      "p1:same",
      "p2:same",
    ]);
    expect((await rows("dd.scope.other")).map((r) => r.payload.toString())).toEqual(["c"]);
    expect(await drainUntilSentinel("dd.scope.other", "p1")).toEqual(["same=c"]);
  });

  it("stores one row for the same id twice within one batch", async () => {
    const topic = "dd.batch";
    await suite.queue.publisher.publish(topic, [
      { id: "x", partitionKey: "p", payload: "x-first" },
      { id: "y", partitionKey: "p", payload: "y" },
      { id: "x", partitionKey: "p", payload: "x-second" },
    ]);
    const stored = await rows(topic, "p");
    expect(stored.map((r) => `${r.message_id}=${r.payload.toString()}`)).toEqual(["x=x-first", "y=y"]);
    expect(await drainUntilSentinel(topic, "p")).toEqual(["x=x-first", "y=y"]);
  });

  it("stores nothing on publishAfter of an id already published", async () => {
    const topic = "dd.after";
    await suite.queue.publisher.publish(topic, { id: "job-1", partitionKey: "p", payload: "now" });
    await suite.queue.publisher.publishAfter(topic, { id: "job-1", partitionKey: "p", payload: "later" }, 60_000);
    const stored = await rows(topic, "p");
    expect(stored).toHaveLength(1);
    expect(stored[0]?.payload.toString()).toBe("now");
    // The stored row was not turned into a deferred one either.
    expect(Number(stored[0]?.visible_after)).toBe(0);
    // And a deferred original is not replaced by an immediate duplicate.
    await suite.queue.publisher.publishAfter(topic, { id: "job-2", partitionKey: "q", payload: "deferred" }, 60_000);
    await suite.queue.publisher.publish(topic, { id: "job-2", partitionKey: "q", payload: "immediate" });
    const q = await rows(topic, "q");
    expect(q.map((r) => r.payload.toString())).toEqual(["deferred"]);
    expect(Number(q[0]?.visible_after)).toBeGreaterThan(0);
  });
});

describe("occasionId", () => {
  it("builds the same id from the same parts", () => {
    expect(occasionId("poll", "b-42", 7)).toBe(occasionId("poll", "b-42", 7));
    expect(occasionId("poll", "b-42", 7)).toBe(occasionId("poll", "b-42", "7"));
  });

  it("gives distinct occasions distinct ids", () => {
    const ids = new Set([
      occasionId("poll", "b-42", 1),
      occasionId("poll", "b-42", 2),
      occasionId("poll", "b-43", 1),
      occasionId("trigger", "b-42", 1),
      occasionId("poll", "b-42"),
      occasionId("poll", "b-42", 1, 0),
    ]);
    expect(ids.size).toBe(6);
  });

  it("cannot be made to collide by parts that contain the separator", () => {
    expect(occasionId("a:b", "c")).not.toBe(occasionId("a", "b:c"));
    expect(occasionId("a:", "b")).not.toBe(occasionId("a", ":b"));
    expect(occasionId("a", "")).not.toBe(occasionId("a:"));
    // Nor by parts that contain whatever the separator is escaped as.
    expect(occasionId(occasionId(":"))).not.toBe(occasionId(":"));
    expect(occasionId("a%3Ab")).not.toBe(occasionId("a:b"));
    expect(occasionId("a%3A", "b")).not.toBe(occasionId("a", "%3Ab"));
  });

  it("shortens an over-long id to at most 255 characters, deterministically and distinctly", () => {
    const long = "x".repeat(400);
    const a = occasionId("poll", long, 1);
    const b = occasionId("poll", long, 2);
    expect(a.length).toBeLessThanOrEqual(255);
    expect(b.length).toBeLessThanOrEqual(255);
    expect(occasionId("poll", long, 1)).toBe(a);
    expect(a).not.toBe(b);
    // Right at the limit, nothing is shortened.
    const exact = occasionId("y".repeat(255));
    expect(exact).toBe("y".repeat(255));
    // Escaping can make a short part long: still within the limit.
    expect(occasionId(":".repeat(200)).length).toBeLessThanOrEqual(255);
  });

  it("accepts a shortened id as a message id, and dedups it", async () => {
    const topic = "dd.longid";
    const id = occasionId("poll", "z".repeat(500), 3);
    await suite.queue.publisher.publish(topic, { id, partitionKey: "p", payload: "1" });
    await suite.queue.publisher.publish(topic, {
      id: occasionId("poll", "z".repeat(500), 3),
      partitionKey: "p",
      payload: "2",
    });
    const stored = await rows(topic);
    expect(stored.map((r) => r.message_id)).toEqual([id]);
  });

  it("uniqueOccasionId differs per call", () => {
    const ids = new Set(Array.from({ length: 100 }, () => uniqueOccasionId("webhook")));
    expect(ids.size).toBe(100);
    for (const id of ids) {
      expect(id.startsWith("webhook:")).toBe(true);
      expect(id.length).toBeLessThanOrEqual(255);
    }
  });
});

describe("ids name occasions: a poll loop", () => {
  // A build that is accepted on the first poll, running on the second and
  // succeeded on the third. The loop polls on each delivery and, while the
  // build is not terminal, re-publishes itself with publishAfter.
  const statuses = ["accepted", "running", "succeeded"] as const;

  async function runPollLoop(
    topic: string,
    buildId: string,
    idFor: (poll: number) => string,
    sentinelAfterFirstRepoll: boolean,
  ): Promise<{ seen: string[]; deliveries: Delivery[] }> {
    await suite.queue.publisher.publish(topic, {
      id: idFor(1),
      partitionKey: buildId,
      payload: JSON.stringify({ poll: 1 }),
    });
    const it = subscribe(topic)[Symbol.asyncIterator]();
    const seen: string[] = [];
    const deliveries: Delivery[] = [];
    for (;;) {
      const d = await nextDelivery(it, `a poll of ${buildId} or the sentinel`);
      deliveries.push(d);
      await d.ack();
      if (d.message.id === "__sentinel__") break;
      const { poll } = JSON.parse(d.message.payload.toString()) as { poll: number };
      const status = statuses[Math.min(poll, statuses.length) - 1] ?? "succeeded";
      seen.push(status);
      if (status === "succeeded") break;
      const next = poll + 1;
      await suite.queue.publisher.publishAfter(
        topic,
        { id: idFor(next), partitionKey: buildId, payload: JSON.stringify({ poll: next }) },
        20,
      );
      // Published after the re-poll, with the same delay, in the same partition:
      // it can only be delivered first if the re-poll was never stored.
      if (sentinelAfterFirstRepoll && next === 2) {
        await suite.queue.publisher.publishAfter(
          topic,
          { id: "__sentinel__", partitionKey: buildId, payload: "{}" },
          20,
        );
      }
    }
    return { seen, deliveries };
  }

  it("swallows a re-publish that reuses the entity's id: the build is never polled again", async () => {
    const topic = "dd.poll.naive";
    const { seen, deliveries } = await runPollLoop(topic, "b-42", () => "b-42", true);
    // The second poll went nowhere: the next thing delivered was the sentinel.
    expect(seen).toEqual(["accepted"]);
    expect(deliveries.map((d) => d.message.id)).toEqual(["b-42", "__sentinel__"]);
    expect((await rows(topic)).map((r) => r.message_id)).toEqual(["b-42", "__sentinel__"]);
  });

  it('re-publishes each poll under occasionId("poll", buildId, n) until the build is terminal', async () => {
    const topic = "dd.poll.occasion";
    const { seen, deliveries } = await runPollLoop(topic, "b-42", (n) => occasionId("poll", "b-42", n), false);
    expect(deliveries.map((d) => d.message.id)).toEqual([
      occasionId("poll", "b-42", 1),
      occasionId("poll", "b-42", 2),
      occasionId("poll", "b-42", 3),
    ]);
    expect(seen).toEqual(["accepted", "running", "succeeded"]);
    expect(deliveries.every((d) => d.attempt === 1)).toBe(true);
    // Every poll was stored.
    const ids = (await rows(topic)).map((r) => r.message_id);
    expect(ids).toEqual([occasionId("poll", "b-42", 1), occasionId("poll", "b-42", 2), occasionId("poll", "b-42", 3)]);
  });
});
