// The web server's connection to MariaDB/MySQL: one mysql2 pool per process,
// made on first use from the validated configuration (so `next build`, which
// renders nothing dynamic, never connects). The queue library keeps a pool of
// its own; this one serves the console's reads.
import type mysql from "mysql2/promise";
import { createDb, type Db, openUtcPool } from "@/db/client";
import { describeDatabaseError } from "./db-errors";
import { getEnv } from "./env";

// Kept on globalThis so that `next dev` reloading this module does not leak pools.
const store = globalThis as typeof globalThis & { __sluicePool?: mysql.Pool; __sluiceDb?: Db };

export function getPool(): mysql.Pool {
  store.__sluicePool ??= openUtcPool(getEnv().DATABASE_URL, { connectionLimit: 5, connectTimeout: 5_000 });
  return store.__sluicePool;
}

/** The Drizzle client over the pool (schema-aware, `db.query.*` works). */
export function getDb(): Db {
  store.__sluiceDb ??= createDb(getPool());
  return store.__sluiceDb;
}

export type DatabasePing = { reachable: true; latencyMs: number } | { reachable: false; error: string };

/** Runs `SELECT 1`: is the database there, and how long did a round trip take? */
export async function pingDatabase(): Promise<DatabasePing> {
  const started = performance.now();
  try {
    await getPool().query("SELECT 1");
    return { reachable: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    return { reachable: false, error: describeDatabaseError(err, getEnv().DATABASE_URL) };
  }
}

export async function closePool(): Promise<void> {
  const pool = store.__sluicePool;
  store.__sluicePool = undefined;
  store.__sluiceDb = undefined;
  await pool?.end();
}
