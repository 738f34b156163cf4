// The one write path into the log. Publishes, DLQ moves and DLQ requeues all
// come through `appendToLog`.
//
// Ordering: each (topic, partition key) has a row in queue_partitions whose
// head_seq is the last sequence number handed out. The append bumps it with
// an UPDATE that holds the row's lock until the transaction ends, so a second
// publisher into the same partition waits, and sequence numbers commit in
// order. A reader that sees seq N committed therefore sees every lower seq
// that will ever exist in that partition, and a watermark computed from what
// it sees can never pass a row that commits later. (An AUTO_INCREMENT id would
// not do: ids are taken at insert and committed in any order, so a reader
// could see id 11 before id 10 commits and move past 10 for good.)
//
// Dedup: a row's dedup_key is sha-256(topic, partition key, id, origin) and is
// unique; a repeated append leaves a gap in seq and stores nothing. Readers
// treat gaps as nothing to do.
import { createHash } from "node:crypto";
import { type Executor, NOW_MS, type Statement } from "./db";
import { failureGroup } from "./failure-group";
import { countTraffic, TOPIC_ROW } from "./rollup";

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

/** The dedup key a row is stored under. */
export const dedupKeyOf = (r: LogRow) => dedupKey(r.topic, r.partitionKey, r.messageId, r.origin);

const COLUMNS =
  "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after, target_group, failure_reason, failure_count, failed_at, original_topic, original_group, original_seq, failure_group";

const partitionId = (topic: string, partitionKey: string) => JSON.stringify([topic, partitionKey]);

/**
 * The statements that append `rows`, for the caller to send in its
 * transaction (with COMMIT, for a publish of its own). Rows of one partition
 * need no round trip before: the head bump hands the new head to the insert
 * through LAST_INSERT_ID, so a single-partition publish is one round trip in
 * all. Rows of several partitions first bump every head
 * (one statement, partitions in sorted order so two appends never deadlock)
 * and read them back; that round trip is sent here.
 */
export async function appendStatements(
  c: Executor,
  rows: LogRow[],
  opts: { tallyDuplicates?: boolean } = {},
): Promise<Statement[]> {
  if (rows.length === 0) return [];
  const counts = new Map<string, { topic: string; partitionKey: string; n: number }>();
  for (const r of rows) {
    const id = partitionId(r.topic, r.partitionKey);
    const p = counts.get(id);
    if (p) p.n++;
    else counts.set(id, { topic: r.topic, partitionKey: r.partitionKey, n: 1 });
  }
  // Every append is a publish into its topic: a DLQ move into the DLQ topic (its inflow), a requeue back into the original.
  for (const p of counts.values()) countTraffic(c, p.topic, TOPIC_ROW, { published: p.n });
  const parts = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
  const only = parts.length === 1 ? parts[0] : undefined;
  const statements: Statement[] = [];
  // Where each row's seq comes from: a number, or the new head less an offset.
  let seqOf: (index: number, id: string) => { sql: string; param: number };
  if (only) {
    statements.push({
      // LAST_INSERT_ID(expr) on both paths: a new partition's head is n, an old one's is head + n.
      sql: `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at)
              VALUES (?, ?, LAST_INSERT_ID(?), ${NOW_MS}, ${NOW_MS})
              ON DUPLICATE KEY UPDATE head_seq = LAST_INSERT_ID(head_seq + VALUES(head_seq)),
                last_published_at = VALUES(last_published_at)`,
      params: [only.topic, only.partitionKey, only.n],
    });
    // Within the insert, LAST_INSERT_ID() is the head the statement before set (the log's own
    // auto-increment ids change it only once the insert is over): row i of n gets head - (n - 1 - i).
    let left = only.n;
    seqOf = () => ({ sql: "LAST_INSERT_ID() - ?", param: --left });
  } else {
    const first = await reserveSeqs(c, parts);
    seqOf = (_, id) => {
      const seq = first.get(id);
      if (seq === undefined) throw new Error(`no sequence reserved for partition ${id}`);
      first.set(id, seq + 1);
      return { sql: "?", param: seq };
    };
  }
  const values: string[] = [];
  const params: unknown[] = [];
  rows.forEach((r, i) => {
    const seq = seqOf(i, partitionId(r.topic, r.partitionKey));
    values.push(
      `(?, ?, ${seq.sql}, ?, ?, ?, ?, ${NOW_MS}, ${r.delayMs > 0 ? `${NOW_MS} + ?` : "?"}, ?, ?, ?, ${r.failure ? NOW_MS : "NULL"}, ?, ?, ?, ?)`,
    );
    params.push(
      r.topic,
      r.partitionKey,
      seq.param,
      r.messageId,
      dedupKeyOf(r),
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
  });
  // A duplicate dedup_key keeps the stored row untouched: that is the dedup. Tallied, each one
  // also adds 1 to @sluice_dups (the affected-row count cannot tell: mysql2 asks for found rows).
  const onDuplicate = opts.tallyDuplicates ? "log_id + 0 * (@sluice_dups := @sluice_dups + 1)" : "log_id";
  statements.push({
    sql: `INSERT INTO queue_messages (${COLUMNS}) VALUES ${values.join(", ")} ON DUPLICATE KEY UPDATE log_id = ${onDuplicate}`,
    params,
  });
  return statements;
}

/** Bumps several partitions' heads by their row counts; returns the seq each one's first new row gets. */
async function reserveSeqs(c: Executor, parts: Array<{ topic: string; partitionKey: string; n: number }>) {
  const [, heads] = (await c.script([
    {
      sql: `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at)
            VALUES ${parts.map(() => `(?, ?, ?, ${NOW_MS}, ${NOW_MS})`).join(", ")}
            ON DUPLICATE KEY UPDATE head_seq = head_seq + VALUES(head_seq), last_published_at = VALUES(last_published_at)`,
      params: parts.flatMap((p) => [p.topic, p.partitionKey, p.n]),
    },
    {
      sql: `SELECT topic, partition_key, head_seq FROM queue_partitions
            WHERE (topic, partition_key) IN (${parts.map(() => "(?, ?)").join(", ")})`,
      params: parts.flatMap((p) => [p.topic, p.partitionKey]),
    },
  ])) as [unknown, Array<{ topic: string; partition_key: string; head_seq: number }>];
  const n = new Map(parts.map((p) => [partitionId(p.topic, p.partitionKey), p.n]));
  const first = new Map<string, number>();
  for (const h of heads) {
    const id = partitionId(h.topic, h.partition_key);
    first.set(id, Number(h.head_seq) - (n.get(id) ?? 0) + 1);
  }
  return first;
}

/** Appends rows inside the caller's transaction. */
export async function appendToLog(c: Executor, rows: LogRow[]): Promise<void> {
  await c.script(await appendStatements(c, rows));
}
