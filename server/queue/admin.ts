// Operations on the log that are not publish or consume: DLQ requeue and
// purge, and garbage collection. The console and the CLI call these; they
// never touch the tables themselves.
import { type AdminOptions, type Executor, NOW_MS, type QueueDb, type WriteResult } from "./db";
import { COUNTED_COLUMNS, type CountedRow, forgetStatements, topicsWithDeadLetters } from "./dlq-counts";
import { invalid, QueueError } from "./errors";
import { parseMetadata } from "./fetch";
import { appendToLog } from "./log";
import { checkText, checkTopic, PARTITION_KEY_MAX } from "./names";
import { DEFAULT_TRAFFIC_RETENTION_DAYS, pruneTraffic, sampleTrafficGauges } from "./rollup";

/** One DLQ row, addressed exactly: never "every row that shares an id". */
export interface DlqAddress {
  topic: string;
  partitionKey: string;
  seq: number;
}

function checkAddress(a: DlqAddress): DlqAddress {
  checkTopic(a.topic, "DLQ topic");
  checkText(a.partitionKey, "partitionKey", PARTITION_KEY_MAX);
  if (!Number.isSafeInteger(a.seq) || a.seq < 1) throw invalid("seq must be a positive integer");
  return a;
}

/**
 * Sends DLQ rows back to their original topic and partition, each addressed to
 * the consumer group it failed in (other groups already finished it), and
 * deletes them from the DLQ, in the caller's transaction. A requeued row's
 * dedup origin is its DLQ row, so a repeated requeue cannot publish twice.
 * Returns the number of rows requeued.
 */
export async function requeueRows(c: Executor, logIds: number[]): Promise<number> {
  if (logIds.length === 0) return 0;
  const rows = await c.query<
    CountedRow & {
      partition_key: string;
      message_id: string;
      payload: Buffer;
      metadata: string | null;
      original_topic: string;
    }
  >(
    `SELECT ${COUNTED_COLUMNS}, partition_key, message_id, payload, metadata, original_topic FROM queue_messages
     WHERE log_id IN (?) AND original_topic IS NOT NULL AND original_group IS NOT NULL
     ORDER BY log_id FOR UPDATE`,
    [logIds],
  );
  if (rows.length === 0) return 0;
  await appendToLog(
    c,
    rows.map((row) => ({
      topic: row.original_topic,
      partitionKey: row.partition_key,
      messageId: row.message_id,
      origin: `requeue:${row.log_id}`,
      payload: row.payload,
      metadata: parseMetadata(row.metadata),
      delayMs: 0,
      targetGroup: row.original_group,
    })),
  );
  await c.script([
    { sql: "DELETE FROM queue_messages WHERE log_id IN (?)", params: [rows.map((r) => r.log_id)] },
    ...forgetStatements(rows),
  ]);
  return rows.length;
}

/** Requeues one DLQ row, addressed exactly. */
export async function requeueDeadLetter(db: QueueDb, address: DlqAddress, opts: AdminOptions = {}): Promise<void> {
  await requeueDeadLetters(db, [address], {
    // Inside the transaction, so a caller's audit row is never written for a row that was not there.
    within: async (c, n) => {
      if (n === 0) {
        const a = address;
        throw new QueueError("NOT_FOUND", `no dead letter at ${a.topic}/${a.partitionKey}#${a.seq}`);
      }
      await opts.within?.(c, n);
    },
  });
}

/** Requeues the addressed DLQ rows in one transaction; rows already gone are skipped. Returns how many moved. */
export async function requeueDeadLetters(
  db: QueueDb,
  addresses: DlqAddress[],
  opts: AdminOptions = {},
): Promise<number> {
  const checked = addresses.map(checkAddress);
  if (checked.length === 0) return 0;
  return db.tx(async (c) => {
    const ids = await c.query<{ log_id: number }>(
      `SELECT log_id FROM queue_messages WHERE (topic, partition_key, seq) IN (${checked.map(() => "(?, ?, ?)").join(", ")})`,
      checked.flatMap((a) => [a.topic, a.partitionKey, a.seq]),
    );
    const n = await requeueRows(
      c,
      ids.map((r) => Number(r.log_id)),
    );
    await opts.within?.(c, n);
    return n;
  });
}

/** Partitions whose rows one garbage-collection transaction deletes. */
const GC_PARTITIONS_PER_TX = 50;

export interface GarbageOptions {
  /** Log rows one partition loses per run at most. Default 10,000. */
  maxRowsPerPartition?: number;
  /** Traffic minutes older than this many days are deleted. Default DEFAULT_TRAFFIC_RETENTION_DAYS. */
  trafficRetentionDays?: number;
}

/**
 * Deletes log rows every registered consumer group of their topic has passed
 * (seq at or below the lowest watermark). Topics with no group keep
 * everything. Also samples every group's lag and oldest-pending age into
 * this minute's traffic row and deletes traffic past its retention. Returns
 * the number of log rows deleted.
 */
export async function collectGarbage(db: QueueDb, opts: GarbageOptions = {}): Promise<number> {
  const limit = opts.maxRowsPerPartition ?? 10_000;
  // Only partitions that still hold a row at or below their floor get a DELETE: the oldest row
  // of each is one probe of the (topic, partition_key, seq) index here, where a DELETE per
  // partition that finds nothing (most, on a busy topic, between two runs) is a statement each.
  const candidates = await db.query<{ topic: string; partition_key: string; floor: number; oldest: number | null }>(
    `SELECT f.topic, f.partition_key, f.floor,
            (SELECT m.seq FROM queue_messages m FORCE INDEX (queue_messages_partition_seq)
             WHERE m.topic = f.topic AND m.partition_key = f.partition_key ORDER BY m.seq LIMIT 1) AS oldest
     FROM (
       SELECT p.topic, p.partition_key, MIN(COALESCE(g.watermark, 0)) AS floor
       FROM queue_partitions p
       JOIN queue_groups qg ON qg.topic = p.topic
       LEFT JOIN queue_group_partitions g
         ON g.consumer_group = qg.consumer_group AND g.topic = p.topic AND g.partition_key = p.partition_key
       GROUP BY p.topic, p.partition_key
       HAVING floor > 0) f`,
  );
  const due = candidates.filter((f) => f.oldest !== null && Number(f.oldest) <= Number(f.floor));
  // A row at or below a floor was committed before its group passed it, and so was its count:
  // a topic holding dead letters (a consumed DLQ topic) is known here.
  const counted = await topicsWithDeadLetters(db, [...new Set(due.map((f) => f.topic))]);
  const floors = due.filter((f) => !counted.has(f.topic));
  // A message's attempt history outlives its delivery rows (deleted below, once its group has
  // passed it) and goes with the message: up to the oldest row this run leaves.
  const attempts = (f: (typeof due)[number]) => ({
    sql: `DELETE FROM queue_attempts WHERE topic = ? AND partition_key = ? AND seq <= ?
            AND seq < COALESCE((SELECT MIN(m.seq) FROM queue_messages m WHERE m.topic = ? AND m.partition_key = ?), ? + 1)`,
    params: [f.topic, f.partition_key, f.floor, f.topic, f.partition_key, f.floor],
  });
  let deleted = 0;
  // Partitions in transactions of GC_PARTITIONS_PER_TX, one round trip each: a commit (and a log
  // flush) per statement, two per partition, made a run over 1,000 busy partitions 2,000 commits.
  for (let i = 0; i < floors.length; i += GC_PARTITIONS_PER_TX) {
    const chunk = floors.slice(i, i + GC_PARTITIONS_PER_TX);
    const results = await db.tx((c) =>
      c.commitWith(
        chunk.flatMap((f) => [
          {
            sql: "DELETE FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq <= ? ORDER BY seq LIMIT ?",
            params: [f.topic, f.partition_key, f.floor, limit],
          },
          attempts(f),
        ]),
      ),
    );
    for (let k = 0; k < results.length; k += 2) deleted += (results[k] as WriteResult).affectedRows;
  }
  // Dead letters are read before they go, so their counts go down with them.
  for (const f of due.filter((x) => counted.has(x.topic))) {
    deleted += await db.tx(async (c) => {
      const rows = await c.query<CountedRow>(
        `SELECT ${COUNTED_COLUMNS} FROM queue_messages
         WHERE topic = ? AND partition_key = ? AND seq <= ? ORDER BY seq LIMIT ? FOR UPDATE`,
        [f.topic, f.partition_key, f.floor, limit],
      );
      if (rows.length === 0) return 0;
      await c.commitWith([
        { sql: "DELETE FROM queue_messages WHERE log_id IN (?)", params: [rows.map((r) => r.log_id)] },
        attempts(f),
        ...forgetStatements(rows),
      ]);
      return rows.length;
    });
  }
  // Delivery rows at or below their watermark are finished history.
  await db.execute(
    `DELETE d FROM queue_deliveries d
     JOIN queue_group_partitions g
       ON g.consumer_group = d.consumer_group AND g.topic = d.topic AND g.partition_key = d.partition_key
     WHERE d.seq <= g.watermark`,
  );
  // Subscribers that stopped heartbeating a day ago are gone for good.
  await db.execute(`DELETE FROM queue_subscribers WHERE heartbeat_at < ${NOW_MS} - ?`, [24 * 3600_000]);
  // Gauges are read where they are cheap: here, once a run, from the overview's bounded figures.
  await sampleTrafficGauges(db);
  await pruneTraffic(db, opts.trafficRetentionDays ?? DEFAULT_TRAFFIC_RETENTION_DAYS);
  return deleted;
}
