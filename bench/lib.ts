// What the benches share: a throwaway database (created fresh, dropped at the
// end and on Ctrl-C), a few query and statistics helpers, and the plain-text
// table their reports are printed as.
import mysql from "mysql2/promise";
import { openUtcPool } from "@/db/client";
import { migrateDatabase } from "@/db/migrate";

// ---------------------------------------------------------------- database

export interface BenchDatabase {
  name: string;
  url: string;
  /** The bench's own connections (raw reads and writes, clock, checks); never the library's. */
  raw: mysql.Pool;
  drop(): Promise<void>;
}

async function dropDatabase(server: string, name: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: server });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

/** Creates and migrates database `name` on `server`; `drop()` ends the pool and drops it. */
export async function createBenchDatabase(
  server: string,
  name: string,
  connectionLimit: number,
): Promise<BenchDatabase> {
  const url = new URL(name, server).toString();
  // A leftover of an earlier run with the same pid would skew the numbers.
  await dropDatabase(server, name);
  try {
    await migrateDatabase(url);
  } catch (err) {
    // migrateDatabase creates the database before it migrates: don't leave it behind.
    await dropDatabase(server, name);
    throw err;
  }
  const raw = openUtcPool(url, { connectionLimit });
  return {
    name,
    url,
    raw,
    async drop() {
      await raw.end().catch(() => undefined);
      await dropDatabase(server, name);
    },
  };
}

/**
 * Drops `db` on Ctrl-C or SIGTERM (then exits 130 or 143); the returned
 * function drops it at the end of the run. Either way it is dropped only once,
 * so a signal during the final drop does not race it.
 */
export function dropOnSignal(db: Pick<BenchDatabase, "name" | "drop">): () => Promise<void> {
  let dropped: Promise<void> | undefined;
  const dropOnce = () => {
    dropped ??= db.drop();
    return dropped;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: dropping ${db.name}`);
    void dropOnce().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return dropOnce;
}

export async function query<T>(pool: mysql.Pool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await pool.query(sql, params);
  return rows as T[];
}

export async function queryOne<T>(pool: mysql.Pool, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await query<T>(pool, sql, params))[0];
}

// ---------------------------------------------------------------- numbers

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `tick` every `everyMs` (start to start; a slow tick delays the next, never overlaps it) while `going()` holds. */
export async function repeatEvery(everyMs: number, going: () => boolean, tick: () => Promise<void>): Promise<void> {
  while (going()) {
    const started = performance.now();
    await tick();
    await sleep(Math.max(0, everyMs - (performance.now() - started)));
  }
}

/** Nearest-rank percentile of an ascending array; NaN for an empty one. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

// ---------------------------------------------------------------- report

/** A titled table: the first column left-aligned, the others (numbers) right-aligned. */
export function printTable(title: string, header: string[], rows: string[][]) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("   ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("   "));
  for (const r of rows) console.log(line(r));
}
