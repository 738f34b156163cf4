// The DLQ: moves after maxAttempts or on reject, with the failure recorded; a
// move never fails forever on an id already in the DLQ, one group's move
// never hides the message from another group, and a requeue addresses
// exactly one DLQ row (not every row sharing an id).
import { describe, expect, it } from "vitest";
import { NOW_MS_SQL } from "@/db/clock";
import type { Delivery } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("dlq");

const opts = (group: string, extra: Record<string, unknown> = {}) => ({
  subscriberName: `s-${group}`,
  consumerGroup: group,
  pollIntervalMs: 10,
  ...extra,
});

interface DlqRow {
  seq: number;
  message_id: string;
  failure_reason: string;
  failure_count: number;
  failed_at: number;
  original_topic: string;
  original_group: string;
  original_seq: number;
  payload: Buffer;
}

const dlqRows = (topic: string) =>
  suite.db.sql<DlqRow>(
    `SELECT seq, message_id, failure_reason, failure_count, failed_at, original_topic, original_group, original_seq, payload
     FROM queue_messages WHERE topic = ? ORDER BY seq`,
    [topic],
  );

const dbNow = async () => Number((await suite.db.sql<{ n: number }>(`SELECT ${NOW_MS_SQL} AS n`))[0]?.n);

describe("dead-letter queue", () => {
  it("moves a message after maxAttempts nacks, with reason, count, time, topic and group", async () => {
    const topic = "dlq.max";
    await suite.queue.publisher.publish(topic, {
      id: "m",
      partitionKey: "P",
      payload: '{"n":1}',
      metadata: { k: "v" },
    });
    const before = await dbNow();
    const sub = suite.queue.subscriber.subscribe(topic, opts("g", { maxAttempts: 3 }));
    const got = await take(sub, 3, (d) => d.nack({ reason: `boom ${d.attempt}` }));
    expect(got.map((d) => d.attempt)).toEqual([1, 2, 3]);
    await sub.close();
    const [row] = await dlqRows(`${topic}_dlq`);
    expect(row?.message_id).toBe("m");
    expect(row?.failure_reason).toBe("boom 3");
    expect(Number(row?.failure_count)).toBe(3);
    expect(Number(row?.failed_at)).toBeGreaterThanOrEqual(before);
    expect(row?.original_topic).toBe(topic);
    expect(row?.original_group).toBe("g");
    expect(row?.payload.toString()).toBe('{"n":1}');

    // A DLQ subscriber sees the failure on the delivery.
    const dsub = suite.queue.subscriber.subscribe(`${topic}_dlq`, opts("ops"));
    const [d] = await take(dsub, 1);
    await dsub.close();
    expect(d?.failure).toMatchObject({ reason: "boom 3", failureCount: 3, originalTopic: topic, consumerGroup: "g" });
    expect(d?.message.metadata).toEqual({ k: "v" });
  });

  it("moves a rejected message at once and keeps delivering the rest of its partition", async () => {
    const topic = "dlq.reject";
    await suite.queue.publisher.publish(topic, [
      { id: "bad", partitionKey: "P", payload: "not json" },
      { id: "good", partitionKey: "P", payload: "{}" },
    ]);
    const sub = suite.queue.subscriber.subscribe(topic, opts("g", { maxAttempts: 5 }));
    const got = await take(sub, 2, (d) => (d.message.id === "bad" ? d.reject("payload is not JSON") : d.ack()));
    await sub.close();
    expect(got.map((d) => [d.message.id, d.attempt])).toEqual([
      ["bad", 1],
      ["good", 1],
    ]);
    const rows = await dlqRows(`${topic}_dlq`);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.failure_reason).toBe("payload is not JSON");
    expect(Number(rows[0]?.failure_count)).toBe(1);
  });

  it("does not hide a message from another group when one group dead-letters it", async () => {
    const topic = "dlq.groups";
    await suite.queue.publisher.publish(topic, { id: "shared", partitionKey: "P", payload: "x" });
    const a = suite.queue.subscriber.subscribe(topic, opts("a"));
    await take(a, 1, (d) => d.reject("group a cannot"));
    await a.close();
    const b = suite.queue.subscriber.subscribe(topic, opts("b"));
    const [d] = await take(b, 1);
    await b.close();
    expect(d?.message.id).toBe("shared");
    expect(d?.attempt).toBe(1);
    const rows = await dlqRows(`${topic}_dlq`);
    expect(rows.map((r) => r.original_group)).toEqual(["a"]);
  });

  it("moves the same id again, from another group and after a requeue, without failing", async () => {
    const topic = "dlq.again";
    await suite.queue.publisher.publish(topic, { id: "same", partitionKey: "P", payload: "x" });
    for (const g of ["a", "b"]) {
      const s = suite.queue.subscriber.subscribe(topic, opts(g));
      await take(s, 1, (d) => d.reject(`failed in ${g}`));
      await s.close();
    }
    let rows = await dlqRows(`${topic}_dlq`);
    expect(rows.map((r) => [r.message_id, r.original_group])).toEqual([
      ["same", "a"],
      ["same", "b"],
    ]);

    // Requeue a's copy: only group a gets it again; it fails again and lands in the DLQ a second time.
    const aRow = rows[0] as DlqRow;
    await suite.queue.admin.requeueDeadLetter({ topic: `${topic}_dlq`, partitionKey: "P", seq: Number(aRow.seq) });
    rows = await dlqRows(`${topic}_dlq`);
    expect(rows.map((r) => r.original_group)).toEqual(["b"]);
    const s = suite.queue.subscriber.subscribe(topic, opts("a"));
    const [again] = await take(s, 1, (d) => d.reject("failed in a again"));
    await s.close();
    expect(again?.message.id).toBe("same");
    rows = await dlqRows(`${topic}_dlq`);
    expect(rows.map((r) => [r.original_group, r.failure_reason])).toEqual([
      ["b", "failed in b"],
      ["a", "failed in a again"],
    ]);

    // Group b never sees the requeued copy meant for a.
    const bAgain = suite.queue.subscriber.subscribe(topic, opts("b"));
    const it = bAgain[Symbol.asyncIterator]();
    await suite.queue.publisher.publish(topic, { id: "marker", partitionKey: "P", payload: "m" });
    const next = await nextDelivery(it, "the marker in group b");
    expect(next.message.id).toBe("marker");
    await next.ack();
    await bAgain.close();
  });

  it("requeues exactly the addressed row when several DLQ rows share an id", async () => {
    const topic = "dlq.exact";
    // Two partitions, same id; both dead-lettered.
    await suite.queue.publisher.publish(topic, [
      { id: "dup", partitionKey: "P1", payload: "one" },
      { id: "dup", partitionKey: "P2", payload: "two" },
    ]);
    const s = suite.queue.subscriber.subscribe(topic, opts("g"));
    await take(s, 2, (d) => d.reject("no"));
    const rows = await suite.db.sql<{ partition_key: string; seq: number }>(
      "SELECT partition_key, seq FROM queue_messages WHERE topic = ? ORDER BY partition_key",
      [`${topic}_dlq`],
    );
    expect(rows).toHaveLength(2);
    await suite.queue.admin.requeueDeadLetter({ topic: `${topic}_dlq`, partitionKey: "P2", seq: Number(rows[1]?.seq) });
    const left = await suite.db.sql<{ partition_key: string }>(
      "SELECT partition_key FROM queue_messages WHERE topic = ?",
      [`${topic}_dlq`],
    );
    expect(left.map((r) => r.partition_key)).toEqual(["P1"]);
    const it = s[Symbol.asyncIterator]();
    const d: Delivery = await nextDelivery(it, "the requeued message");
    expect([d.message.id, d.message.partitionKey, d.message.payload.toString()]).toEqual(["dup", "P2", "two"]);
    await d.ack();
    await s.close();
    await expect(
      suite.queue.admin.requeueDeadLetter({ topic: `${topic}_dlq`, partitionKey: "P2", seq: Number(rows[1]?.seq) }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("dead-letters a message whose handler hangs past the visibility timeout on its last attempt", async () => {
    const topic = "dlq.hang";
    await suite.queue.publisher.publish(topic, [
      { id: "hang", partitionKey: "P", payload: "h" },
      { id: "after", partitionKey: "P", payload: "a" },
    ]);
    const s = suite.queue.subscriber.subscribe(
      topic,
      opts("g", { maxAttempts: 2, visibilityTimeoutMs: 300, batchSize: 1 }),
    );
    const it = s[Symbol.asyncIterator]();
    // Never settle "hang"; it comes back once, then goes to the DLQ and "after" follows.
    const first = await nextDelivery(it, "hang, attempt 1");
    const second = await nextDelivery(it, "hang, attempt 2");
    expect([first.message.id, first.attempt, second.message.id, second.attempt]).toEqual(["hang", 1, "hang", 2]);
    const after = await nextDelivery(it, "the next message once hang is dead-lettered");
    expect(after.message.id).toBe("after");
    await after.ack();
    await s.close();
    const [row] = await dlqRows(`${topic}_dlq`);
    expect(row?.failure_reason).toMatch(/visibility timeout of 300 ms expired on attempt 2 of 2/);
    await expect(first.ack()).rejects.toMatchObject({ code: "DELIVERY_EXPIRED" });
  });

  it("with the DLQ off, drops the message for the group after maxAttempts", async () => {
    const topic = "dlq.off";
    await suite.queue.publisher.publish(topic, { id: "x", partitionKey: "P", payload: "x" });
    const s = suite.queue.subscriber.subscribe(topic, opts("g", { maxAttempts: 1, dlq: { enabled: false } }));
    await take(s, 1, (d) => d.nack({ reason: "nope" }));
    await until(async () => {
      const [gp] = await suite.db.sql<{ watermark: number }>(
        "SELECT watermark FROM queue_group_partitions WHERE topic = ?",
        [topic],
      );
      return Number(gp?.watermark) === 1;
    }, "the watermark to pass the dropped message");
    await s.close();
    expect(await dlqRows(`${topic}_dlq`)).toHaveLength(0);
  });
});
