// The traffic rollup (queue_traffic): per topic, consumer group and minute,
// what was published, acked, nacked and dead-lettered. The write paths count
// into a tally kept per transaction (countTraffic); the tally goes out as one
// multi-row INSERT … ON DUPLICATE KEY UPDATE in the COMMIT's round trip
// (TxExecutor.atCommit): no round trip of its own, one statement per
// transaction however many messages it moved, and rolled back with it.
//
// Lock order: the statement is the last before COMMIT and takes its rows in
// key order, so a transaction holding a rollup row waits for nothing but
// later rollup rows: it cannot close a cycle with the queue's other locks.
// Writers on different connections add to different shards of a minute's row.
import { type Executor, NOW_MS, type QueueDb, type Statement, type TxExecutor } from "./db";
import { groupGauges } from "./ops/overview";

/** Rows per (topic, group, minute) that concurrent writers spread over; readers sum them. */
export const TRAFFIC_SHARDS = 8;
/** The consumer group of a topic's own row, which holds its published counts. */
export const TOPIC_ROW = "";
/** Default days of traffic kept (garbage collection deletes older minutes). */
export const DEFAULT_TRAFFIC_RETENTION_DAYS = 7;

/** The current minute's start on the database's clock, ms. */
export const MINUTE_SQL = `(${NOW_MS} DIV 60000) * 60000`;

export interface TrafficCounts {
  published?: number;
  acked?: number;
  nacked?: number;
  deadLettered?: number;
}

type Tally = Map<string, { topic: string; group: string } & Required<TrafficCounts>>;

const tallies = new WeakMap<Executor, Tally>();

/**
 * Adds `counts` to the transaction's tally for (topic, group), written when
 * it commits. A plain executor, outside any transaction of the queue's, has
 * no commit to ride with and counts nothing (a test harness's wrapper).
 */
export function countTraffic(c: Executor, topic: string, group: string, counts: TrafficCounts): void {
  if (!("atCommit" in c)) return;
  let tally = tallies.get(c);
  if (!tally) {
    const fresh: Tally = new Map();
    (c as TxExecutor).atCommit(() => trafficStatement([...fresh.values()]));
    tallies.set(c, fresh);
    tally = fresh;
  }
  const key = JSON.stringify([topic, group]);
  const row = tally.get(key) ?? { topic, group, published: 0, acked: 0, nacked: 0, deadLettered: 0 };
  row.published += counts.published ?? 0;
  row.acked += counts.acked ?? 0;
  row.nacked += counts.nacked ?? 0;
  row.deadLettered += counts.deadLettered ?? 0;
  tally.set(key, row);
}

const byKey = (a: { topic: string; group: string }, b: { topic: string; group: string }) =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.group < b.group ? -1 : a.group > b.group ? 1 : 0;

function trafficStatement(rows: Array<{ topic: string; group: string } & Required<TrafficCounts>>): Statement[] {
  const counted = rows.filter((r) => r.published + r.acked + r.nacked + r.deadLettered > 0).sort(byKey);
  if (counted.length === 0) return [];
  return [
    {
      sql: `INSERT INTO queue_traffic (topic, minute, consumer_group, shard, published, acked, nacked, dead_lettered)
            VALUES ${counted.map(() => `(?, ${MINUTE_SQL}, ?, CONNECTION_ID() % ${TRAFFIC_SHARDS}, ?, ?, ?, ?)`).join(", ")}
            ON DUPLICATE KEY UPDATE published = published + VALUES(published), acked = acked + VALUES(acked),
              nacked = nacked + VALUES(nacked), dead_lettered = dead_lettered + VALUES(dead_lettered)`,
      params: counted.flatMap((r) => [r.topic, r.group, r.published, r.acked, r.nacked, r.deadLettered]),
    },
  ];
}

/**
 * Writes this minute's lag and oldest-pending age of every consumer group
 * (the overview's own figures, bounded by partitions and groups) into shard
 * 0 of its row; a later sample in the same minute replaces them. Garbage
 * collection calls it on each run. Rows in key order, like the hot path's.
 */
export async function sampleTrafficGauges(db: QueueDb): Promise<number> {
  const gauges = (await groupGauges(db)).sort(byKey);
  if (gauges.length === 0) return 0;
  await db.execute(
    `INSERT INTO queue_traffic (topic, minute, consumer_group, shard, lag, oldest_pending_ms)
     VALUES ${gauges.map(() => `(?, ${MINUTE_SQL}, ?, 0, ?, IF(? IS NULL, NULL, GREATEST(0, CAST(${NOW_MS} AS SIGNED) - ?)))`).join(", ")}
     ON DUPLICATE KEY UPDATE lag = VALUES(lag), oldest_pending_ms = VALUES(oldest_pending_ms)`,
    gauges.flatMap((g) => [g.topic, g.group, g.lag, g.oldestPendingAt, g.oldestPendingAt]),
  );
  return gauges.length;
}

/** Rows one pruning DELETE removes at most, and DELETEs one run sends at most. */
const PRUNE_BATCH = 10_000;
const PRUNE_BATCHES_PER_RUN = 20;

/** Deletes minutes older than `retentionDays`, in bounded batches (the rest waits for the next run). Returns rows deleted. */
export async function pruneTraffic(db: QueueDb, retentionDays: number): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < PRUNE_BATCHES_PER_RUN; i++) {
    const { affectedRows } = await db.execute(
      `DELETE FROM queue_traffic WHERE minute < ${MINUTE_SQL} - ? ORDER BY minute LIMIT ${PRUNE_BATCH}`,
      [retentionDays * 24 * 3600_000],
    );
    deleted += affectedRows;
    if (affectedRows < PRUNE_BATCH) break;
  }
  return deleted;
}
