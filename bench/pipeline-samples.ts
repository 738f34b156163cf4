// What the bench samples during the window: the pipeline group's backlogs,
// the server's statement counters and settings, and CPU time.
import type mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import { PIPELINE_GROUP, TOPICS } from "@/server/pipeline/topics";
import { query, queryOne } from "./lib";
import { fix, summarize } from "./pipeline-numbers";
import { hostCpu, processCpuSeconds } from "./pipeline-procs";
import { state } from "./pipeline-state";

export interface Backlog {
  nowMs: number;
  /** Visible now, not handed to any worker (or handed out and timed out). */
  ready: number;
  /** Handed to a worker, not settled. */
  inFlight: number;
  /** Published with a delay that has not passed. */
  scheduled: number;
  /** How long the oldest ready message has been visible, ms (0 when none; an undelayed row is visible from published_at). */
  oldestReadyMs: number;
}

/**
 * The messages of a topic group "pipeline" has not finished: above its
 * watermark, without an acked or dead delivery row (the same test the
 * queue's own fetch uses: READY_ROWS in server/queue/partition-state.ts).
 */
export async function backlog(pool: mysql.Pool, topic: string): Promise<Backlog> {
  const ready = `(m.visible_after <= t.now_ms AND (d.seq IS NULL OR (d.state = 0 AND d.visible_at <= t.now_ms)))`;
  const row = await queryOne<Record<string, number | string | null>>(
    pool,
    `SELECT t.now_ms,
            COALESCE(SUM(${ready}), 0) AS ready,
            COALESCE(SUM(d.seq IS NOT NULL AND d.state = 0 AND d.visible_at > t.now_ms), 0) AS in_flight,
            COALESCE(SUM(m.visible_after > t.now_ms AND d.seq IS NULL), 0) AS scheduled,
            MIN(CASE WHEN ${ready} THEN GREATEST(m.visible_after, m.published_at) END) AS oldest_ready
     FROM (SELECT ${NOW_MS_SQL} AS now_ms) t
     JOIN queue_messages m ON m.topic = ?
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = ? AND g.topic = m.topic AND g.partition_key = m.partition_key
     LEFT JOIN queue_deliveries d
       ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     WHERE m.seq > COALESCE(g.watermark, 0) AND (m.target_group IS NULL OR m.target_group = ?)`,
    [topic, PIPELINE_GROUP, PIPELINE_GROUP, PIPELINE_GROUP],
  );
  const nowMs = Number(row?.now_ms);
  const oldest = row?.oldest_ready == null ? undefined : Number(row.oldest_ready);
  return {
    nowMs,
    ready: Number(row?.ready ?? 0),
    inFlight: Number(row?.in_flight ?? 0),
    scheduled: Number(row?.scheduled ?? 0),
    oldestReadyMs: oldest === undefined ? 0 : nowMs - oldest,
  };
}

/** Round trips on an otherwise idle bench database: a read, and a durable one-row commit. */
export async function roundTrips(pool: mysql.Pool): Promise<string> {
  const conn = await pool.getConnection();
  try {
    await conn.query("CREATE TABLE bench_commit (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
    const time = async (sql: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await conn.query(sql);
        ms.push(performance.now() - t);
      }
      return summarize(ms);
    };
    const read = await time("SELECT 1");
    const write = await time("INSERT INTO bench_commit (v) VALUES (1)");
    await conn.query("DROP TABLE bench_commit");
    return `SELECT 1 p50 ${fix(read.p50, 2)} ms; one-row autocommit INSERT p50 ${fix(write.p50, 2)} ms, p90 ${fix(write.p90, 2)} ms`;
  } finally {
    conn.release();
  }
}

/** The server settings that decide what a commit costs. */
export async function serverSettings(pool: mysql.Pool): Promise<string> {
  const names = ["innodb_flush_log_at_trx_commit", "innodb_buffer_pool_size", "log_bin", "sync_binlog"];
  const rows = await query<{ Variable_name: string; Value: string }>(
    pool,
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => "?").join(", ")})`,
    names,
  );
  const v = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
  const poolMiB = Math.round(Number(v.innodb_buffer_pool_size) / 2 ** 20);
  return `innodb_flush_log_at_trx_commit ${v.innodb_flush_log_at_trx_commit}, buffer pool ${poolMiB} MiB, log_bin ${v.log_bin}, sync_binlog ${v.sync_binlog}`;
}

export const STATUS_VARIABLES = [
  "Questions",
  "Com_select",
  "Com_insert",
  "Com_update",
  "Com_delete",
  "Com_commit",
] as const;

export async function globalStatus(pool: mysql.Pool): Promise<Record<string, number>> {
  const rows = await query<{ Variable_name: string; Value: string }>(
    pool,
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_VARIABLES.map(() => "?").join(", ")})`,
    [...STATUS_VARIABLES],
  );
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

export interface CpuSnapshot {
  atMs: number;
  host: { busy: number; total: number };
  workers: Array<number | undefined>;
  database: number | undefined;
  bench: number;
}

export function cpuSnapshot(dbPid: number | undefined): CpuSnapshot {
  const own = process.cpuUsage();
  return {
    atMs: performance.now(),
    host: hostCpu(),
    workers: state.workers.map((w) => processCpuSeconds(w.pid)),
    database: dbPid === undefined ? undefined : processCpuSeconds(dbPid),
    bench: (own.user + own.system) / 1e6,
  };
}

export interface Sample {
  tMs: number;
  calls: number;
  backlog: Backlog;
  /** The speculate topic's backlog: every status call publishes one speculate message. */
  speculate: Backlog;
  hostBusy: number;
}

export async function takeSample(pool: mysql.Pool, windowStart: number): Promise<Sample> {
  const b = await backlog(pool, TOPICS.buildsignal);
  const speculate = await backlog(pool, TOPICS.speculate);
  const row = await queryOne<{ n: number | string | null }>(pool, "SELECT SUM(status_calls) AS n FROM builds");
  return { tMs: b.nowMs - windowStart, calls: Number(row?.n ?? 0), backlog: b, speculate, hostBusy: hostCpu().busy };
}
