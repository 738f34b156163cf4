// The Drizzle client over a mysql2 pool. Server code gets one from
// server/db.ts (getDb); pages and components never import db/.
import { sql } from "drizzle-orm";
import { drizzle, type MySql2Database } from "drizzle-orm/mysql2";
import mysql, { type Pool } from "mysql2/promise";
import { NOW_MS_SQL } from "./clock";

/** The database clock in ms, for Drizzle queries and inserted values. */
export const NOW_MS = sql.raw(NOW_MS_SQL);

/**
 * A pool whose sessions run in UTC, so NOW_MS reads the same clock as the
 * queue's own sessions. (The queue library keeps a pool of its own, which
 * also sets READ COMMITTED.)
 */
export function openUtcPool(url: string, opts: { connectionLimit: number; connectTimeout?: number }): Pool {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit: opts.connectionLimit,
    connectTimeout: opts.connectTimeout,
    supportBigNumbers: true,
    enableKeepAlive: true,
    // No caller stack captured for every query: it cost a busy worker 5% of its CPU (bench:pipeline
    // profile). Errors keep their code and message; their stack starts in mysql2.
    trace: false,
  });
  // A session whose set-up failed would read NOW_MS on the server's own time
  // zone, silently: it is closed instead, so the query queued behind the set-up
  // fails with it and the pool opens a fresh connection for the next one.
  pool.on("connection", (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (err: unknown) => void): void; destroy(): void };
    core.query("SET time_zone = '+00:00'", (err) => {
      if (err) core.destroy();
    });
  });
  return pool;
}

/**
 * Without the schema: nothing uses Drizzle's relational queries, and a client
 * given the schema walks all of it when made, once for every queue
 * transaction the pipeline writes in (its connection is a new wrapper each
 * time): 3% of a busy worker's CPU in the bench:pipeline profile.
 */
export type Db = MySql2Database;

export function createDb(pool: Pool): Db {
  return drizzle(pool);
}
