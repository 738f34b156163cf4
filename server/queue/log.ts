// The one write path into the log. Publishes, DLQ moves and DLQ requeues all
// come through `appendToLog`.
//
// Ordering: each (topic, partition key) has a row in queue_partitions whose
// head_seq is the last sequence number handed out. The append bumps it with
// an UPDATE that holds the row's lock until the transaction ends, so a second
// publisher into the same partition waits, and sequence numbers commit in
// order. A reader that sees seq N committed therefore sees every lower seq
// that will ever exist in that partition, and a watermark computed from what
// it sees can never pass a row that commits later (the AUTO_INCREMENT flaw).
//
// Dedup: a row's dedup_key is sha-256(topic, partition key, id, origin) and is
// unique; a repeated append leaves a gap in seq and stores nothing. Readers
// treat gaps as nothing to do.
import { createHash } from "node:crypto";
import { type Executor, NOW_MS } from "./db";

export interface LogRow {
  topic: string;
  partitionKey: string;
  messageId: string;
  /** Distinguishes appends that must not dedup against the original id ("" for publishes). */
  origin: string;
  payload: Buffer;
  metadata: Record<string, string> | undefined;
  delayMs: number;
  targetGroup?: string | null;
  failure?: {
    reason: string;
    count: number;
    originalTopic: string;
    originalGroup: string;
    originalSeq: number;
  };
}

export function dedupKey(topic: string, partitionKey: string, id: string, origin: string): Buffer {
  const h = createHash("sha256");
  for (const part of [topic, partitionKey, id, origin]) {
    h.update(String(Buffer.byteLength(part)));
    h.update(":");
    h.update(part);
  }
  return h.digest();
}

const COLUMNS =
  "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after, target_group, failure_reason, failure_count, failed_at, original_topic, original_group, original_seq";

/** Appends rows inside the caller's transaction. Partitions are locked in sorted order to avoid deadlocks. */
export async function appendToLog(c: Executor, rows: LogRow[]): Promise<void> {
  const byPartition = new Map<string, LogRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.topic, r.partitionKey]);
    const list = byPartition.get(k);
    if (list) list.push(r);
    else byPartition.set(k, [r]);
  }
  const keys = [...byPartition.keys()].sort();
  for (const k of keys) {
    const list = byPartition.get(k) ?? [];
    const first = list[0];
    if (!first) continue;
    const n = list.length;
    await c.execute(
      `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at)
       VALUES (?, ?, ?, ${NOW_MS}, ${NOW_MS})
       ON DUPLICATE KEY UPDATE head_seq = head_seq + VALUES(head_seq), last_published_at = VALUES(last_published_at)`,
      [first.topic, first.partitionKey, n],
    );
    const [p] = await c.query<{ head_seq: number }>(
      "SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?",
      [first.topic, first.partitionKey],
    );
    const base = Number(p?.head_seq) - n;
    const values: string[] = [];
    const params: unknown[] = [];
    list.forEach((r, i) => {
      values.push(
        `(?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ${r.delayMs > 0 ? `${NOW_MS} + ?` : "?"}, ?, ?, ?, ${r.failure ? NOW_MS : "NULL"}, ?, ?, ?)`,
      );
      params.push(
        r.topic,
        r.partitionKey,
        base + i + 1,
        r.messageId,
        dedupKey(r.topic, r.partitionKey, r.messageId, r.origin),
        r.payload,
        r.metadata && Object.keys(r.metadata).length > 0 ? JSON.stringify(r.metadata) : null,
        r.delayMs > 0 ? Math.ceil(r.delayMs) : 0,
        r.targetGroup ?? null,
        r.failure?.reason ?? null,
        r.failure?.count ?? null,
        r.failure?.originalTopic ?? null,
        r.failure?.originalGroup ?? null,
        r.failure?.originalSeq ?? null,
      );
    });
    // A duplicate dedup_key keeps the stored row untouched: that is the dedup.
    await c.execute(
      `INSERT INTO queue_messages (${COLUMNS}) VALUES ${values.join(", ")} ON DUPLICATE KEY UPDATE log_id = log_id`,
      params,
    );
  }
}
