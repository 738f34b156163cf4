// Garbage collection: log rows every group has passed, their attempt
// history and delivery rows, silent subscribers, old traffic minutes. Every
// worker runs it on a timer. Runs on one database take turns (a named lock),
// and a run paces itself, so that the burst of deletes it is does not take
// the database from the traffic it serves: a run that deleted all at once
// made every poll of bench:pipeline late by up to a second, every 30 s.
import { setTimeout as delay } from "node:timers/promises";
import { NOW_MS, type QueueDb, type WriteResult } from "./db";
import { COUNTED_COLUMNS, type CountedRow, forgetStatements, topicsWithDeadLetters } from "./dlq-counts";
import { DEFAULT_TRAFFIC_RETENTION_DAYS, pruneTraffic, sampleTrafficGauges } from "./rollup";

/** Partitions whose rows one garbage-collection transaction deletes. */
const GC_PARTITIONS_PER_TX = 50;
/** After each transaction of a run, a pause of this many times as long as it took. */
const GC_PAUSE_RATIO = 3;
/** How long a run waits for another process's run on the same database to end, s; then it runs anyway. */
const GC_TURN_WAIT_S = 120;

export interface GarbageOptions {
  /** Log rows one partition loses per run at most. Default 10,000. */
  maxRowsPerPartition?: number;
  /** Traffic minutes older than this many days are deleted. Default DEFAULT_TRAFFIC_RETENTION_DAYS. */
  trafficRetentionDays?: number;
}

/** One run of collectGarbage, under its turn. */
async function collect(db: QueueDb, opts: GarbageOptions): Promise<number> {
  let since = performance.now();
  // Waits as long as the work since the last pause took.
  const pace = async () => {
    await delay((performance.now() - since) * GC_PAUSE_RATIO);
    since = performance.now();
  };
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
    if (i > 0) await pace();
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
    await pace();
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
  await pace();
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

/**
 * Deletes log rows every registered consumer group of their topic has passed
 * (seq at or below the lowest watermark). Topics with no group keep
 * everything. Also samples every group's lag and oldest-pending age into
 * this minute's traffic row and deletes traffic past its retention. Returns
 * the number of log rows deleted. Waits for a run of another process on the
 * same database to end first (at most GC_TURN_WAIT_S).
 */
export async function collectGarbage(db: QueueDb, opts: GarbageOptions = {}): Promise<number> {
  // GET_LOCK belongs to a session: one connection holds it for the run, the run's own statements use others.
  const conn = await db.pool.getConnection();
  try {
    await conn.query("SELECT GET_LOCK(CONCAT('sluice_gc:', DATABASE()), ?)", [GC_TURN_WAIT_S]);
    return await collect(db, opts);
  } finally {
    // Ending the session would release it too; a released connection keeps its session.
    await conn.query("SELECT RELEASE_LOCK(CONCAT('sluice_gc:', DATABASE()))").catch(() => {});
    conn.release();
  }
}
