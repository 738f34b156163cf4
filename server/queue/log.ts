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
import { failureGroup } from "./failure-group";

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
  "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after, target_group, failure_reason, failure_count, failed_at, original_topic, original_group, original_seq, failure_group";

/**
 * Bumps each partition's head by its row count, locking the partition rows in
 * sorted order (no deadlock between two appends), and returns the seq each
 * partition's first new row gets.
 */
async function reserveSeqs(c: Executor, parts: Array<{ topic: string; partitionKey: string; n: number }>) {
  const first = new Map<string, number>();
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only) {
    // One partition, one round trip: LAST_INSERT_ID(expr) hands back the new head.
    const res = await c.execute(
      `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at)
       VALUES (?, ?, ?, ${NOW_MS}, ${NOW_MS})
       ON DUPLICATE KEY UPDATE head_seq = LAST_INSERT_ID(head_seq + VALUES(head_seq)),
         last_published_at = VALUES(last_published_at)`,
      [only.topic, only.partitionKey, only.n],
    );
    // 1 row affected: a new partition, whose head is n; 2: an update, head = insertId.
    const head = res.affectedRows === 1 ? only.n : res.insertId;
    first.set(partitionId(only.topic, only.partitionKey), head - only.n + 1);
    return first;
  }
  await c.execute(
    `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at)
     VALUES ${parts.map(() => `(?, ?, ?, ${NOW_MS}, ${NOW_MS})`).join(", ")}
     ON DUPLICATE KEY UPDATE head_seq = head_seq + VALUES(head_seq), last_published_at = VALUES(last_published_at)`,
    parts.flatMap((p) => [p.topic, p.partitionKey, p.n]),
  );
  const heads = await c.query<{ topic: string; partition_key: string; head_seq: number }>(
    `SELECT topic, partition_key, head_seq FROM queue_partitions
     WHERE (topic, partition_key) IN (${parts.map(() => "(?, ?)").join(", ")})`,
    parts.flatMap((p) => [p.topic, p.partitionKey]),
  );
  const n = new Map(parts.map((p) => [partitionId(p.topic, p.partitionKey), p.n]));
  for (const h of heads) {
    const id = partitionId(h.topic, h.partition_key);
    first.set(id, Number(h.head_seq) - (n.get(id) ?? 0) + 1);
  }
  return first;
}

const partitionId = (topic: string, partitionKey: string) => JSON.stringify([topic, partitionKey]);

/** Appends rows inside the caller's transaction: one statement to reserve seqs (two for several partitions), one to insert. */
export async function appendToLog(c: Executor, rows: LogRow[]): Promise<void> {
  if (rows.length === 0) return;
  const counts = new Map<string, { topic: string; partitionKey: string; n: number }>();
  for (const r of rows) {
    const id = partitionId(r.topic, r.partitionKey);
    const p = counts.get(id);
    if (p) p.n++;
    else counts.set(id, { topic: r.topic, partitionKey: r.partitionKey, n: 1 });
  }
  const parts = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
  const next = await reserveSeqs(c, parts);
  const values: string[] = [];
  const params: unknown[] = [];
  for (const r of rows) {
    const id = partitionId(r.topic, r.partitionKey);
    const seq = next.get(id);
    if (seq === undefined) throw new Error(`no sequence reserved for partition ${id}`);
    next.set(id, seq + 1);
    values.push(
      `(?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ${r.delayMs > 0 ? `${NOW_MS} + ?` : "?"}, ?, ?, ?, ${r.failure ? NOW_MS : "NULL"}, ?, ?, ?, ?)`,
    );
    params.push(
      r.topic,
      r.partitionKey,
      seq,
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
      r.failure ? failureGroup(r.failure.reason) : null,
    );
  }
  // A duplicate dedup_key keeps the stored row untouched: that is the dedup.
  await c.execute(
    `INSERT INTO queue_messages (${COLUMNS}) VALUES ${values.join(", ")} ON DUPLICATE KEY UPDATE log_id = log_id`,
    params,
  );
}
