// Settling a delivery: visibility timeout, extendVisibility, nack with and
// without a delay, maxAttempts and the DLQ, settling twice, and settling a
// delivery that already went to someone else. Times are read from the
// database's clock, the one the queue uses.
import { describe, expect, it } from "vitest";
import { NOW_MS_SQL } from "@/db/clock";
import { type Delivery, QueueError, type SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, until } from "@/tests/helpers/wait";

const suite = queueSuite("settle");

const GROUP = "g";

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.queue.subscriber.subscribe(topic, {
    subscriberName: "s",
    consumerGroup: GROUP,
    pollIntervalMs: 10,
    batchSize: 1,
    ...opts,
  });
  suite.track(sub);
  return { sub, it: sub[Symbol.asyncIterator]() };
}

async function dbNow(): Promise<number> {
  const [row] = await suite.db.sql<{ now: number | string }>(`SELECT ${NOW_MS_SQL} AS now`);
  return Number(row?.now);
}

interface DeliveryRow {
  seq: number;
  state: number;
  attempts: number;
  visibleAt: number;
  owner: string | null;
  now: number;
}

/** The group's delivery row of a message, read together with the database clock. */
async function deliveryRow(topic: string, id: string, group = GROUP): Promise<DeliveryRow | undefined> {
  const [row] = await suite.db.sql<Record<string, number | string | null>>(
    `SELECT d.seq, d.state, d.attempts, d.visible_at, d.owner, ${NOW_MS_SQL} AS now
     FROM queue_deliveries d
     JOIN queue_messages m ON m.topic = d.topic AND m.partition_key = d.partition_key AND m.seq = d.seq
     WHERE d.consumer_group = ? AND d.topic = ? AND m.message_id = ?`,
    [group, topic, id],
  );
  if (!row) return undefined;
  return {
    seq: Number(row.seq),
    state: Number(row.state),
    attempts: Number(row.attempts),
    visibleAt: Number(row.visible_at),
    owner: row.owner === null ? null : String(row.owner),
    now: Number(row.now),
  };
}

/** True once the group has finished the message (its watermark passed it). */
async function finished(topic: string, partitionKey: string, id: string, group = GROUP): Promise<boolean> {
  const [row] = await suite.db.sql<{ done: number | string }>(
    `SELECT COALESCE(g.watermark, 0) >= m.seq AS done
     FROM queue_messages m
     LEFT JOIN queue_group_partitions g ON g.consumer_group = ? AND g.topic = m.topic AND g.partition_key = m.partition_key
     WHERE m.topic = ? AND m.partition_key = ? AND m.message_id = ?`,
    [group, topic, partitionKey, id],
  );
  return Number(row?.done) === 1;
}

async function dlqRows(topic: string) {
  return suite.db.sql<{
    message_id: string;
    failure_reason: string;
    failure_count: number;
    original_topic: string;
    original_group: string;
  }>(
    "SELECT message_id, failure_reason, failure_count, original_topic, original_group FROM queue_messages WHERE topic = ?",
    [`${topic}_dlq`],
  );
}

const tagOf = (d: Delivery) => `${d.message.id}#${d.attempt}`;

async function expectCode(p: Promise<unknown>, code: string) {
  await expect(p).rejects.toBeInstanceOf(QueueError);
  await expect(p).rejects.toMatchObject({ code });
}

/**
 * Publishes a sentinel after everything else in the partition and returns the
 * next delivery: if anything earlier in the partition were still (or again)
 * deliverable, it would come first.
 */
async function nextIsSentinel(topic: string, partitionKey: string, it: AsyncIterator<Delivery>) {
  await suite.queue.publisher.publish(topic, { id: "__sentinel__", partitionKey, payload: "sentinel" });
  const d = await nextDelivery(it, "the sentinel", 5_000);
  expect(`${d.message.id}#${d.attempt}`).toBe("__sentinel__#1");
  await d.ack();
}

describe("visibility timeout", () => {
  it("redelivers an unsettled delivery to the same subscriber after the timeout, with attempt + 1", async () => {
    const topic = "st.timeout.same";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { it } = subscribe(topic, { visibilityTimeoutMs: 300 });
    const first = await nextDelivery(it, "the first delivery");
    expect(first.attempt).toBe(1);
    const row = await deliveryRow(topic, "m1");
    expect(row?.visibleAt).toBeGreaterThanOrEqual((row?.now ?? 0) + 200);
    // Not settled: the handler "crashed". It must come back once the 300 ms pass.
    const again = await nextDelivery(it, "the redelivery after the visibility timeout", 5_000);
    expect(again.message.id).toBe("m1");
    expect(again.attempt).toBe(2);
    expect(await dbNow()).toBeGreaterThanOrEqual(row?.visibleAt ?? Number.POSITIVE_INFINITY);
    // The first delivery is stale now, even in the same subscriber.
    await expectCode(first.ack(), "DELIVERY_EXPIRED");
    expect(await finished(topic, "p", "m1")).toBe(false);
    await again.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
  });

  it("redelivers an unsettled delivery to another subscriber of the group after the timeout, with attempt + 1", async () => {
    const topic = "st.timeout.other";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const a = subscribe(topic, { visibilityTimeoutMs: 300, closeTimeoutMs: 0 });
    const first = await nextDelivery(a.it, "the first delivery");
    expect(first.attempt).toBe(1);
    const row = await deliveryRow(topic, "m1");
    // The first subscriber goes away without settling; its lease is released.
    await a.sub.close();
    const b = subscribe(topic);
    const again = await nextDelivery(b.it, "the redelivery after the visibility timeout", 5_000);
    expect(again.message.id).toBe("m1");
    expect(again.attempt).toBe(2);
    // Not before the timeout, on the database's clock.
    expect(await dbNow()).toBeGreaterThanOrEqual(row?.visibleAt ?? Number.POSITIVE_INFINITY);
    await again.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
  });
});

describe("visibility timeouts and maxAttempts", () => {
  it("counts each expired delivery as a failed attempt and dead-letters after the last", async () => {
    const topic = "st.timeout.dlq";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { sub, it } = subscribe(topic, { visibilityTimeoutMs: 200, maxAttempts: 2 });
    const first = await nextDelivery(it, "attempt 1");
    const second = await nextDelivery(it, "attempt 2 after the visibility timeout", 5_000);
    expect([first.attempt, second.attempt]).toEqual([1, 2]);
    // Attempt 2 also times out: that was the last one, so the next fetch moves m1 to the DLQ.
    // A pending next() keeps the subscriber polling meanwhile; it must not yield an attempt 3.
    const pending = it.next();
    const dlq = await until(
      async () => {
        const rows = await dlqRows(topic);
        return rows.length > 0 ? rows : undefined;
      },
      "m1 in the DLQ",
      5_000,
    );
    expect(dlq).toHaveLength(1);
    expect(Number(dlq[0]?.failure_count)).toBe(2);
    expect(dlq[0]?.failure_reason).toMatch(/visibility timeout/);
    await until(() => finished(topic, "p", "m1"), "m1 finished for the group", 5_000);
    await sub.close();
    const r = await pending;
    expect(r.done ? "nothing" : `${r.value.message.id}#${r.value.attempt}`).toBe("nothing");
  });
});

describe("extendVisibility", () => {
  it("pushes visible_at forward by the extension and keeps the delivery from others meanwhile", async () => {
    const topic = "st.extend";
    await suite.queue.publisher.publish(topic, [
      { id: "m1", partitionKey: "p", payload: "1" },
      { id: "m2", partitionKey: "p", payload: "2" },
    ]);
    const a = subscribe(topic, { visibilityTimeoutMs: 300, closeTimeoutMs: 0 });
    const d1 = await nextDelivery(a.it, "m1");
    expect(d1.message.id).toBe("m1");
    const before = await deliveryRow(topic, "m1");
    if (!before) throw new Error("no delivery row for m1");
    expect(before.visibleAt - before.now).toBeLessThanOrEqual(300);

    await d1.extendVisibility(5_000);
    const after = await deliveryRow(topic, "m1");
    if (!after) throw new Error("no delivery row for m1 after extendVisibility");
    // ~5 s from now on the database clock (a little less: time passed since the update).
    expect(after.visibleAt - after.now).toBeGreaterThan(4_500);
    expect(after.visibleAt - after.now).toBeLessThanOrEqual(5_000);
    expect(after.visibleAt - before.visibleAt).toBeGreaterThan(4_400);
    expect(after.attempts).toBe(1);

    // Hand the partition to a second subscriber of the group, once the original 300 ms are over.
    await a.sub.close();
    await until(async () => (await dbNow()) > before.visibleAt + 50, "the original visibility timeout to pass", 5_000);
    // A later message, in another partition, published after the original timeout passed.
    await suite.queue.publisher.publish(topic, { id: "q1", partitionKey: "q", payload: "q" });
    const b = subscribe(topic, { subscriberName: "b", visibilityTimeoutMs: 300 });
    const gotB: Delivery[] = [];
    while (!gotB.some((d) => d.message.id === "q1")) {
      gotB.push(await nextDelivery(b.it, "the later message q1 for the second subscriber", 5_000));
    }
    // The second subscriber now holds p's lease too, and still did not get m1.
    const [bRow] = await suite.db.sql<{ instance_id: string }>(
      "SELECT instance_id FROM queue_subscribers WHERE topic = ? AND subscriber_name = 'b'",
      [topic],
    );
    await until(
      async () => {
        const [l] = await suite.db.sql<{ lease_owner: string | null }>(
          "SELECT lease_owner FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = 'p'",
          [GROUP, topic],
        );
        return l?.lease_owner === bRow?.instance_id;
      },
      "the second subscriber to lease partition p",
      5_000,
    );
    expect(gotB.map((d) => d.message.id)).not.toContain("m1");
    for (const d of gotB) await d.ack();
    const still = await deliveryRow(topic, "m1");
    expect(still?.attempts).toBe(1);
    expect(still?.visibleAt).toBe(after.visibleAt);
    expect(still?.now).toBeLessThan(after.visibleAt);

    // The extended delivery is still the one that counts: its ack finishes m1 ...
    await d1.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
    // ... and m1 is never delivered to anyone again; the rest of p follows.
    while (!gotB.some((d) => d.message.id === "m2")) {
      const d = await nextDelivery(b.it, "m2 after m1 is acked", 5_000);
      gotB.push(d);
      await d.ack();
    }
    expect(gotB.map(tagOf).sort()).toEqual(["m2#1", "q1#1"]);
    await nextIsSentinel(topic, "p", b.it);
  });
});

describe("nack", () => {
  it("without requeueAfterMs brings the message back at once with attempt 2", async () => {
    const topic = "st.nack.now";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    // A long visibility timeout: only the nack can bring it back within the deadline.
    const { it } = subscribe(topic, { visibilityTimeoutMs: 60_000 });
    const d1 = await nextDelivery(it, "the first delivery");
    expect(d1.attempt).toBe(1);
    const nackedAt = await dbNow();
    await d1.nack({ reason: "try again" });
    const row = await deliveryRow(topic, "m1");
    expect(row?.visibleAt).toBeLessThanOrEqual(row?.now ?? 0);
    expect(row?.visibleAt).toBeGreaterThanOrEqual(nackedAt);
    const d2 = await nextDelivery(it, "the redelivery after nack", 3_000);
    expect(d2.message.id).toBe("m1");
    expect(d2.attempt).toBe(2);
    await d2.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
  });

  it("with requeueAfterMs does not deliver it again before that time on the database clock", async () => {
    const topic = "st.nack.later";
    const delay = 400;
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { it } = subscribe(topic, { visibilityTimeoutMs: 60_000 });
    const d1 = await nextDelivery(it, "the first delivery");
    const beforeNack = await dbNow();
    await d1.nack({ requeueAfterMs: delay, reason: "not yet" });
    const row = await deliveryRow(topic, "m1");
    if (!row) throw new Error("no delivery row after nack");
    expect(row.visibleAt - beforeNack).toBeGreaterThanOrEqual(delay);
    expect(row.visibleAt - row.now).toBeLessThanOrEqual(delay);
    const d2 = await nextDelivery(it, "the redelivery after requeueAfterMs", 5_000);
    const receivedAt = await dbNow();
    expect(d2.message.id).toBe("m1");
    expect(d2.attempt).toBe(2);
    expect(receivedAt).toBeGreaterThanOrEqual(row.visibleAt);
    expect(receivedAt - beforeNack).toBeGreaterThanOrEqual(delay);
    await d2.ack();
  });

  it("counts toward maxAttempts: 3 nacks with maxAttempts 3, then the message is in <topic>_dlq", async () => {
    const topic = "st.nack.dlq";
    await suite.queue.publisher.publish(topic, {
      id: "m1",
      partitionKey: "p",
      payload: "payload-1",
      metadata: { k: "v" },
    });
    const { it } = subscribe(topic, { maxAttempts: 3, visibilityTimeoutMs: 60_000 });
    const attempts: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const d = await nextDelivery(it, `delivery ${i} of m1`, 5_000);
      expect(d.message.id).toBe("m1");
      attempts.push(d.attempt);
      expect(await dlqRows(topic)).toHaveLength(0);
      await d.nack({ reason: `failure ${i}` });
    }
    expect(attempts).toEqual([1, 2, 3]);
    const dlq = await dlqRows(topic);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({ message_id: "m1", original_topic: topic, original_group: GROUP });
    expect(Number(dlq[0]?.failure_count)).toBe(3);
    expect(dlq[0]?.failure_reason).toContain("failure 3");
    // Finished for the group: no 4th delivery, the next thing in the partition comes through.
    expect(await finished(topic, "p", "m1")).toBe(true);
    await nextIsSentinel(topic, "p", it);
    // And the DLQ topic delivers it with its failure.
    const dlqSub = subscribe(`${topic}_dlq`, { consumerGroup: "dlq-reader" });
    const dead = await nextDelivery(dlqSub.it, "the DLQ message", 5_000);
    expect(dead.message.id).toBe("m1");
    expect(dead.message.payload.toString()).toBe("payload-1");
    expect(dead.message.metadata).toEqual({ k: "v" });
    expect(dead.failure).toMatchObject({ failureCount: 3, originalTopic: topic });
    expect(dead.failure?.reason).toContain("failure 3");
    await dead.ack();
  });
});

describe("settling twice", () => {
  it("refuses ack, nack, reject and extendVisibility after ack with ALREADY_SETTLED, changing nothing", async () => {
    const topic = "st.twice.ack";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { it } = subscribe(topic);
    const d = await nextDelivery(it, "m1");
    await d.ack();
    await expectCode(d.ack(), "ALREADY_SETTLED");
    await expectCode(d.nack(), "ALREADY_SETTLED");
    await expectCode(d.nack({ requeueAfterMs: 10 }), "ALREADY_SETTLED");
    await expectCode(d.reject("too late"), "ALREADY_SETTLED");
    await expectCode(d.extendVisibility(1_000), "ALREADY_SETTLED");
    // None of them did anything: m1 stays finished, is not in the DLQ, and is not delivered again.
    expect(await finished(topic, "p", "m1")).toBe(true);
    expect(await dlqRows(topic)).toHaveLength(0);
    await nextIsSentinel(topic, "p", it);
  });

  it("refuses ack after nack, and ack after reject, with ALREADY_SETTLED", async () => {
    const topic = "st.twice.other";
    await suite.queue.publisher.publish(topic, [
      { id: "n", partitionKey: "p", payload: "x" },
      { id: "r", partitionKey: "q", payload: "x" },
    ]);
    const { it } = subscribe(topic, { maxAttempts: 5 });
    const seen = new Map<string, Delivery>();
    while (seen.size < 2) {
      const d = await nextDelivery(it, "n and r");
      if (!seen.has(d.message.id)) seen.set(d.message.id, d);
      else throw new Error(`${d.message.id} delivered twice`);
      if (d.message.id === "n") await d.nack({ requeueAfterMs: 60_000 });
      else await d.reject("bad");
    }
    const n = seen.get("n") as Delivery;
    const r = seen.get("r") as Delivery;
    await expectCode(n.ack(), "ALREADY_SETTLED");
    await expectCode(r.ack(), "ALREADY_SETTLED");
    await expectCode(r.nack(), "ALREADY_SETTLED");
    // The ack after the nack changed nothing: n is still pending, r is still dead once.
    expect(await finished(topic, "p", "n")).toBe(false);
    expect((await deliveryRow(topic, "n"))?.state).toBe(0);
    expect((await dlqRows(topic)).map((x) => x.message_id)).toEqual(["r"]);
  });
});

describe("settling concurrently and with bad arguments", () => {
  it("lets exactly one of two concurrent settles win; the other gets ALREADY_SETTLED", async () => {
    const topic = "st.race";
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { it } = subscribe(topic, { visibilityTimeoutMs: 60_000 });
    const d = await nextDelivery(it, "m1");
    const results = await Promise.allSettled([d.ack(), d.nack(), d.reject("no"), d.extendVisibility(1_000)]);
    expect(results[0]?.status).toBe("fulfilled");
    for (const r of results.slice(1)) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "ALREADY_SETTLED" });
    }
    expect(await finished(topic, "p", "m1")).toBe(true);
    expect(await dlqRows(topic)).toHaveLength(0);
  });

  it.each<[string, (d: Delivery) => Promise<void>, RegExp]>([
    ["nack with a negative requeueAfterMs", (d) => d.nack({ requeueAfterMs: -1 }), /requeueAfterMs/],
    ["nack with a NaN requeueAfterMs", (d) => d.nack({ requeueAfterMs: Number.NaN }), /requeueAfterMs/],
    ["reject with an empty reason", (d) => d.reject(""), /reason/],
    ["extendVisibility by 0 ms", (d) => d.extendVisibility(0), /extendVisibility/],
  ])("refuses %s with INVALID_ARGUMENT and leaves the delivery to settle", async (what, call, field) => {
    const topic = `st.badarg.${what.replace(/[^A-Za-z0-9]+/g, "-")}`;
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const { it } = subscribe(topic, { visibilityTimeoutMs: 60_000 });
    const d = await nextDelivery(it, "m1");
    const p = (async () => call(d))();
    await expect(p).rejects.toThrow(field);
    await expect(p).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await deliveryRow(topic, "m1")).toMatchObject({ state: 0, attempts: 1 });
    await d.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
  });
});

describe("a delivery that expired and went to another subscriber", () => {
  /** m1 delivered to A (300 ms visibility), A goes away, B gets m1 again as attempt 2. */
  async function staleAndCurrent(topic: string) {
    await suite.queue.publisher.publish(topic, { id: "m1", partitionKey: "p", payload: "x" });
    const a = subscribe(topic, { subscriberName: "a", visibilityTimeoutMs: 300, closeTimeoutMs: 0 });
    const stale = await nextDelivery(a.it, "m1 for A");
    expect(stale.attempt).toBe(1);
    await a.sub.close();
    const b = subscribe(topic, { subscriberName: "b", visibilityTimeoutMs: 60_000 });
    const current = await nextDelivery(b.it, "m1 for B after A's visibility timeout", 5_000);
    expect(current.message.id).toBe("m1");
    expect(current.attempt).toBe(2);
    const row = await deliveryRow(topic, "m1");
    return { stale, current, b, row };
  }

  it("refuses the old ack with DELIVERY_EXPIRED without undoing the new delivery", async () => {
    const topic = "st.expired.ack";
    const { stale, current, b, row } = await staleAndCurrent(topic);
    await expectCode(stale.ack(), "DELIVERY_EXPIRED");
    // The new delivery is untouched: still in flight, attempt 2, same deadline.
    const after = await deliveryRow(topic, "m1");
    expect(after).toMatchObject({ state: 0, attempts: 2, visibleAt: row?.visibleAt, owner: row?.owner });
    expect(await finished(topic, "p", "m1")).toBe(false);
    await current.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
    await nextIsSentinel(topic, "p", b.it);
  });

  it("refuses the old ack with DELIVERY_EXPIRED after the new delivery was acked, and does not bring it back", async () => {
    const topic = "st.expired.after";
    const { stale, current, b } = await staleAndCurrent(topic);
    await current.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
    await expectCode(stale.ack(), "DELIVERY_EXPIRED");
    expect(await finished(topic, "p", "m1")).toBe(true);
    await nextIsSentinel(topic, "p", b.it);
  });

  it.each<[string, (d: Delivery) => Promise<void>]>([
    ["nack", (d) => d.nack({ reason: "stale nack" })],
    ["reject", (d) => d.reject("stale reject")],
    ["extendVisibility", (d) => d.extendVisibility(30_000)],
  ])("refuses the old delivery's %s with DELIVERY_EXPIRED without touching the new one", async (verb, call) => {
    const topic = `st.expired.${verb}`;
    const { stale, current, row } = await staleAndCurrent(topic);
    await expectCode(call(stale), "DELIVERY_EXPIRED");
    const after = await deliveryRow(topic, "m1");
    expect(after).toMatchObject({ state: 0, attempts: 2, visibleAt: row?.visibleAt, owner: row?.owner });
    expect(await dlqRows(topic)).toHaveLength(0);
    await current.ack();
    expect(await finished(topic, "p", "m1")).toBe(true);
    expect(await dlqRows(topic)).toHaveLength(0);
  });
});

describe("a delivery whose row was taken away while it was out", () => {
  it("frees its partition at once when its ack fails with DELIVERY_EXPIRED, not after its own visibility timeout", async () => {
    const topic = "st.expired.free";
    await suite.queue.publisher.publish(topic, [
      { id: "m1", partitionKey: "p", payload: "x" },
      { id: "m2", partitionKey: "p", payload: "x" },
    ]);
    const s = subscribe(topic, { visibilityTimeoutMs: 60_000 });
    const first = await nextDelivery(s.it, "m1");
    // What an offset reset does to the group's delivery rows: m1 counts as never delivered.
    await suite.db.sql("DELETE FROM queue_deliveries WHERE topic = ? AND partition_key = 'p'", [topic]);
    await expectCode(first.ack(), "DELIVERY_EXPIRED");
    // The partition is fetched again well within m1's 60 s visibility timeout.
    const again = await nextDelivery(s.it, "m1 again after the failed ack", 5_000);
    expect(again.message.id).toBe("m1");
    await again.ack();
  });
});
