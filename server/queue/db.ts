// The queue's access to MySQL: a mysql2 pool whose sessions run in UTC and
// READ COMMITTED, a counter of statements sent (the idle-cost benchmark and
// tests read it), and a transaction runner that retries deadlocks.
import mysql from "mysql2/promise";
import { NOW_MS_SQL } from "../../db/clock";
import { isRetryableTransactionError } from "./errors";

/** The database clock in milliseconds. Every time the queue compares is this one. */
export const NOW_MS = NOW_MS_SQL;

export type Row = Record<string, unknown>;

export interface Executor {
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  execute(sql: string, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }>;
}

export interface QueueDb extends Executor {
  readonly pool: mysql.Pool;
  /** Statements sent since the pool was made. */
  statements(): number;
  tx<T>(fn: (c: Executor) => Promise<T>): Promise<T>;
  end(): Promise<void>;
}

/**
 * Runs inside an admin operation's transaction, after its change, with the
 * number of rows it changed. Whatever it writes (an audit row) commits or
 * rolls back with the change; if it throws, the change rolls back.
 */
export type Within = (c: Executor, count: number) => Promise<void>;

/** Options every admin operation takes. */
export interface AdminOptions {
  within?: Within;
}

type Queryable = Pick<mysql.Pool, "query">;

const MAX_TX_TRIES = 8;

export function openDb(url: string, connectionLimit: number): QueueDb {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit,
    supportBigNumbers: true,
    // The queue keeps ms timestamps in BIGINT columns; DATETIME is not used.
    dateStrings: true,
    enableKeepAlive: true,
  });
  // One clock and one isolation level for every session: UTC makes
  // UNIX_TIMESTAMP(NOW(3)) exact, and READ COMMITTED lets a statement see rows
  // committed by others since the transaction began (the watermark needs that).
  // Two statements: MariaDB rejects the isolation level inside a multi-variable
  // SET, and that error, ignored, once left every session in the server's time
  // zone and REPEATABLE READ. A session that could not be set up is not used.
  pool.on("connection", (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (err: unknown) => void): void; destroy(): void };
    const check = (err: unknown) => {
      if (err) core.destroy();
    };
    core.query("SET time_zone = '+00:00'", check);
    core.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", check);
  });
  let count = 0;

  const makeExecutor = (q: Queryable): Executor => ({
    async query<T>(sql: string, params: unknown[] = []) {
      count++;
      const [rows] = await q.query(sql, params);
      return rows as T[];
    },
    async execute(sql: string, params: unknown[] = []) {
      count++;
      const [res] = await q.query(sql, params);
      const header = res as mysql.ResultSetHeader;
      return { affectedRows: header.affectedRows, insertId: Number(header.insertId) };
    },
  });

  return {
    pool,
    ...makeExecutor(pool),
    statements: () => count,
    async tx<T>(fn: (c: Executor) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const conn = await pool.getConnection();
        let broken = false;
        try {
          count++;
          await conn.query("START TRANSACTION");
          const result = await fn(makeExecutor(conn));
          count++;
          await conn.query("COMMIT");
          return result;
        } catch (err) {
          try {
            await conn.query("ROLLBACK");
          } catch {
            broken = true;
          }
          if (attempt < MAX_TX_TRIES && isRetryableTransactionError(err)) {
            // A deadlock victim runs again from the start, after a short random pause.
            await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
            continue;
          }
          throw err;
        } finally {
          if (broken) conn.destroy();
          else conn.release();
        }
      }
    },
    end: () => pool.end(),
  };
}
