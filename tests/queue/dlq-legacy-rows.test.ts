// DLQ rows written before migration 0003 (no failure group: the column did
// not exist) on a database upgraded since: the upgrade gives them the failure
// group failureGroup() would have, so the DLQ lists, counts, searches, groups
// and requeues them like any later failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "@/db/migrate";
import { createQueue, type Queue } from "@/server/queue";
import { failureGroup } from "@/server/queue/failure-group";
import { dedupKey } from "@/server/queue/log";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { nextDelivery, take } from "@/tests/helpers/wait";

const TOPIC = "legacy";
const DLQ = "legacy_dlq";
const LONG = `${"a failure that goes on and on ".repeat(8)}until the widget 42 broke`;
// Reasons that exercise every mask and what failureGroup keeps: the upgrade must group them the same way.
const REASONS = [
  "order 8812 not found",
  "order 9907 not found",
  'user "bob" id 0b7f2a9e-1111-4c3a-9d2e-aaaaaaaaaaaa',
  "JOB 0B7F2A9E-1111-4C3A-9D2E-AAAAAAAAAAAA failed at 0X7FFE12AB",
  "timeout after 2708ms on worker_3, user42, order-8812, retry in 1.5s",
  "invalid byte sequence for encoding UTF-8: 0xc3 (SHA-256, AES-128, HTTP-2, x-1234, v-1.2)",
  "object 507f1f77bcf86cd799439011 and req_a3f9c21 and id-0x1f, not deadbeef or facade",
  "can't parse 'it\\'s 12' or \"say \\\"7\\\"\" near 12abcdef0",
  "  tabs\tand\nnewlines   and\u00a0spaces  ",
  "Ünïcödé façade ß 42 and the Kelvin sign \u212a7",
  LONG,
];

let db: TestDatabase;
let queue: Queue;

beforeAll(async () => {
  db = await freshDatabase("dlqlegacy", { through: "0002_pipeline" });
  // Shaped as the queue wrote a DLQ move then: a failure, no failure group.
  await db.sql(
    "INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at) VALUES (?, 'k', ?, 0, 0)",
    [DLQ, REASONS.length],
  );
  for (const [i, reason] of REASONS.entries()) {
    await db.sql(
      `INSERT INTO queue_messages (topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after,
         failure_reason, failure_count, failed_at, original_topic, original_group, original_seq)
       VALUES (?, 'k', ?, ?, ?, ?, NULL, 1000, 0, ?, 3, 1000, ?, 'g', ?)`,
      [DLQ, i + 1, `m${i}`, dedupKey(DLQ, "k", `m${i}`, `dlq:g:${i + 1}`), `payload ${i}`, reason, TOPIC, i + 1],
    );
  }
  await migrateDatabase(db.url);
  queue = createQueue({ url: db.url });
});

afterAll(async () => {
  await queue?.close();
  await db?.drop();
});

describe("DLQ rows written before failure groups existed", () => {
  it("get the failure group failureGroup() gives their reason", async () => {
    const rows = await db.sql<{ failure_reason: string; failure_group: string | null }>(
      "SELECT failure_reason, failure_group FROM queue_messages WHERE topic = ? ORDER BY seq",
      [DLQ],
    );
    expect(rows.map((r) => r.failure_group)).toEqual(REASONS.map(failureGroup));
  });

  it("are listed, counted, found by id and by text, and grouped with later failures", async () => {
    expect(await queue.inspect.listDlqTopics()).toContain(DLQ);
    const page = await queue.inspect.listDlq({ topic: DLQ }, { limit: 50 });
    expect(page.rows.map((r) => r.id)).toEqual(REASONS.map((_, i) => `m${i}`).reverse());
    expect(page.rows.at(-1)).toMatchObject({ reason: REASONS[0], originalTopic: TOPIC, originalGroup: "g" });
    expect(await queue.inspect.countDlq({ topic: DLQ })).toBe(REASONS.length);

    const byId = await queue.inspect.listDlq({ topic: DLQ, search: "m2" }, { limit: 50 });
    expect(byId.rows.map((r) => r.id)).toEqual(["m2"]);
    // Past the 191 characters a failure group keeps: read from the reason itself.
    const byText = await queue.inspect.listDlq({ topic: DLQ, search: "widget" }, { limit: 50 });
    expect(byText.rows.map((r) => r.id)).toEqual([`m${REASONS.length - 1}`]);
    expect(await queue.inspect.getDeadLetter(DLQ, "k", 1)).toMatchObject({
      id: "m0",
      failureGroup: "order <n> not found",
    });

    // A failure of today joins the legacy rows' group.
    await queue.publisher.publish(TOPIC, { id: "today", partitionKey: "k", payload: "x" });
    const sub = queue.subscriber.subscribe(TOPIC, { subscriberName: "legacy", consumerGroup: "g", pollIntervalMs: 10 });
    await take(sub, 1, (d) => d.reject("order 1234 not found"));
    await sub.close();
    const groups = await queue.inspect.dlqFailureGroups({ topic: DLQ });
    expect(groups.find((g) => g.failureGroup === "order <n> not found")?.count).toBe(3);
  });

  it("can be requeued to their group", async () => {
    const before = await queue.inspect.countDlq({ topic: DLQ });
    await queue.admin.requeueDeadLetter({ topic: DLQ, partitionKey: "k", seq: 1 });
    expect(await queue.inspect.countDlq({ topic: DLQ })).toBe(before - 1);
    expect(await queue.inspect.getDeadLetter(DLQ, "k", 1)).toBeNull();

    const sub = queue.subscriber.subscribe(TOPIC, { subscriberName: "legacy", consumerGroup: "g", pollIntervalMs: 10 });
    try {
      const d = await nextDelivery(sub[Symbol.asyncIterator](), "the requeued legacy row");
      expect([d.message.id, d.message.payload.toString()]).toEqual(["m0", "payload 0"]);
      await d.ack();
    } finally {
      await sub.close();
    }
  });
});
