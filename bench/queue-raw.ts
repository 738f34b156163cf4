// Raw MariaDB baselines of the queue bench, measured in the same run as the
// library: durable single-row autocommit commits/s (the throughput rows'
// yardstick) and INSERTs shaped like a queue_messages row (the publish rows').
import { createHash } from "node:crypto";
import mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import type { BenchDatabase } from "./lib";
import { PAYLOAD, SETTINGS } from "./queue-common";

// ---------------------------------------------------------------- commits

export interface CommitRate {
  /** Measured before or after the throughput sections (the machine's load may drift in between). */
  when: "before" | "after";
  connections: number;
  commits: number;
  seconds: number;
  perSec: number;
}

/**
 * `connections` dedicated connections, each running autocommit
 * `UPDATE bench_commit SET n = n + 1 WHERE id = <its own row>` back to back
 * for `windowMs`: one durable commit (redo log flush) per statement, no lock
 * waits between connections.
 */
export async function measureRawCommits(
  db: BenchDatabase,
  when: CommitRate["when"],
  connections: number,
  windowMs: number,
): Promise<CommitRate> {
  await db.raw.query("CREATE TABLE IF NOT EXISTS bench_commit (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB");
  await db.raw.query(
    `INSERT IGNORE INTO bench_commit (id, n) VALUES ${Array.from({ length: connections }, (_, i) => `(${i}, 0)`).join(", ")}`,
  );
  const conns = await Promise.all(Array.from({ length: connections }, () => mysql.createConnection({ uri: db.url })));
  try {
    let commits = 0;
    const start = performance.now();
    const end = start + windowMs;
    await Promise.all(
      conns.map(async (c, i) => {
        while (performance.now() < end) {
          await c.query("UPDATE bench_commit SET n = n + 1 WHERE id = ?", [i]);
          commits++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    return { when, connections, commits, seconds, perSec: commits / seconds };
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------- INSERTs like the log's

const RAW_COLUMNS = "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after";

/** Same columns, indexes and collation as the log, without the queue's bookkeeping around it. */
export async function createRawLog(db: BenchDatabase) {
  await db.raw.query("CREATE TABLE bench_raw LIKE queue_messages");
}

/** One bench_raw row's values, shaped like a queue_messages row for the same message. */
function rawRow(topic: string, i: number): { sql: string; params: unknown[] } {
  const partitionKey = `p${i % SETTINGS.partitions}`;
  const id = `${topic}-${i}`;
  const dedupKey = createHash("sha256").update(`${topic}:${partitionKey}:${id}`).digest();
  const seq = Math.floor(i / SETTINGS.partitions) + 1;
  return {
    sql: `(?, ?, ?, ?, ?, ?, NULL, ${NOW_MS_SQL}, 0)`,
    params: [topic, partitionKey, seq, id, dedupKey, PAYLOAD],
  };
}

/** One autocommit INSERT of rows `from` … `from + count - 1`. */
export async function rawInsert(pool: mysql.Pool, topic: string, from: number, count: number) {
  const rows = Array.from({ length: count }, (_, k) => rawRow(topic, from + k));
  await pool.query(
    `INSERT INTO bench_raw (${RAW_COLUMNS}) VALUES ${rows.map((r) => r.sql).join(", ")}`,
    rows.flatMap((r) => r.params),
  );
}

/** The mean commits/s on `connections` connections over every measurement of it (NaN: none). */
export function rawCommitRate(raw: CommitRate[], connections: number): number {
  const rates = raw.filter((r) => r.connections === connections).map((r) => r.perSec);
  return rates.length === 0 ? Number.NaN : rates.reduce((a, b) => a + b, 0) / rates.length;
}
