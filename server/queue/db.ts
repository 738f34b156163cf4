// The queue's access to MySQL: a mysql2 pool whose sessions run in UTC and
// READ COMMITTED, a counter of statements sent (the idle-cost benchmark and
// tests read it), and a transaction runner that retries deadlocks.
import mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import { isRetryableTransactionError } from "./errors";

/** The database clock in milliseconds. Every time the queue compares is this one. */
export const NOW_MS = NOW_MS_SQL;

export type Row = Record<string, unknown>;

export interface Executor {
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  execute(sql: string, params?: unknown[]): Promise<{ affectedRows: number; insertId: number }>;
  /**
   * Sends several statements in one round trip and returns each one's result
   * (rows for a SELECT, a header for a write). The server runs them in order
   * and stops at the first error, which rejects the call. Hot paths use it so
   * a fetch or a settle pays for its round trips, not for each statement.
   */
  script(statements: Statement[]): Promise<unknown[]>;
}

export interface Statement {
  sql: string;
  params?: unknown[];
}

/** The result header of a write sent through `script`. */
export type WriteResult = mysql.ResultSetHeader;

export interface QueueDb extends Executor {
  readonly pool: mysql.Pool;
  /** Statements sent since the pool was made. */
  statements(): number;
  /**
   * Runs `fn` in a transaction; a deadlock or lock-wait timeout runs it again
   * from the start. START TRANSACTION rides with the first statement sent
   * through the executor, unless `eager`: then it is sent before `fn` runs,
   * as it must be when `fn` may write on `connection` directly first.
   */
  tx<T>(fn: (c: TxExecutor) => Promise<T>, opts?: { eager?: boolean }): Promise<T>;
  end(): Promise<void>;
}

/**
 * The executor of one transaction. `connection` is the mysql2 connection it
 * runs on, for a caller that writes its own rows with another client
 * (Drizzle) in the same transaction: only in a transaction begun eagerly
 * (see QueueDb.tx), or a statement on it could run before START TRANSACTION.
 * Hooks run once the transaction's fate is known: after COMMIT, or after a
 * ROLLBACK (also one that will be retried).
 */
export interface TxExecutor extends Executor {
  readonly connection: mysql.PoolConnection;
  /**
   * Sends `statements` and COMMIT in one round trip; their results. Nothing
   * may run in the transaction after it. With `{ results: false }` the
   * caller needs none (it gets an empty array): a transaction that sent
   * nothing before then goes out on MariaDB as one compound statement, so
   * the server answers with one packet instead of one per statement (a lone
   * publish: see openDb).
   */
  commitWith(statements: Statement[], opts?: { results?: boolean }): Promise<unknown[]>;
  /**
   * Statements `build` returns when the transaction commits, sent in the
   * COMMIT's round trip just before it (after commitWith's own): written
   * last, whatever ran before, and costing no round trip. The traffic
   * rollup adds its one statement per transaction this way.
   */
  atCommit(build: () => Statement[]): void;
  afterCommit(fn: () => void): void;
  afterRollback(fn: () => void): void;
}

/**
 * Runs inside an admin operation's transaction, after its change, with the
 * number of rows it changed. Whatever it writes (an audit row) commits or
 * rolls back with the change; if it throws, the change rolls back.
 */
export type Within = (c: Executor, count: number) => Promise<void>;

/** Options every admin operation takes. */
export interface AdminOptions {
  /** Runs in the operation's transaction after its change (the caller's audit row; see Within). Default: none. */
  within?: Within;
}

type Queryable = Pick<mysql.Pool, "query">;

function writeOutcome(res: unknown): { affectedRows: number; insertId: number } {
  const header = res as mysql.ResultSetHeader;
  return { affectedRows: header.affectedRows, insertId: Number(header.insertId) };
}

const MAX_TX_TRIES = 8;

/**
 * `statements` as one MariaDB anonymous compound statement. Its statements
 * run in order and the first error stops it and comes back as the error of
 * the whole (the transaction it began is left open for the caller's
 * ROLLBACK, as with a multi-statement query); their results are not sent.
 */
function asBlock(statements: Statement[]): Statement {
  return {
    sql: `BEGIN NOT ATOMIC\n${statements.map((s) => `${s.sql};`).join("\n")}\nEND`,
    params: statements.flatMap((s) => s.params ?? []),
  };
}

export function openDb(url: string, connectionLimit: number): QueueDb {
  const pool = mysql.createPool({
    uri: url,
    connectionLimit,
    supportBigNumbers: true,
    // For `script`: every statement the queue sends is built from constants
    // and placeholders, never from caller text, so this opens no injection.
    multipleStatements: true,
    // The queue keeps ms timestamps in BIGINT columns; DATETIME is not used.
    dateStrings: true,
    enableKeepAlive: true,
    // No caller stack captured for every query: it cost a busy worker 5% of its CPU (bench:pipeline
    // profile). Errors keep their code and message; their stack starts in mysql2.
    trace: false,
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
  // MariaDB sends one packet per statement of a multi-statement query, and each costs both
  // processes a socket write and a wake-up: sent as a compound statement, which answers with one,
  // a lone publish's SQL took 145 µs of node's CPU instead of 257 (2026-12-01). MySQL has no
  // anonymous compound statement: there the statements go as they are. Asked once, on first use.
  let compound: Promise<boolean> | undefined;
  const compoundStatements = () => {
    compound ??= pool.query("SELECT VERSION() AS v").then(
      ([rows]) => /mariadb/i.test(String((rows as Row[])[0]?.v)),
      () => {
        // Asked again next time: an outage must not turn the short form off for good.
        compound = undefined;
        return false;
      },
    );
    return compound;
  };

  const makeExecutor = (q: Queryable): Executor => ({
    async query<T>(sql: string, params: unknown[] = []) {
      count++;
      const [rows] = await q.query(sql, params);
      return rows as T[];
    },
    async execute(sql: string, params: unknown[] = []) {
      count++;
      const [res] = await q.query(sql, params);
      return writeOutcome(res);
    },
    async script(statements: Statement[]) {
      if (statements.length === 0) return [];
      count += statements.length;
      const [res] = await q.query(
        statements.map((s) => s.sql).join(";\n"),
        statements.flatMap((s) => s.params ?? []),
      );
      // One statement comes back as its own result, several as an array of them.
      return statements.length === 1 ? [res] : (res as unknown[]);
    },
  });

  return {
    pool,
    ...makeExecutor(pool),
    statements: () => count,
    async tx<T>(fn: (c: TxExecutor) => Promise<T>, opts: { eager?: boolean } = {}): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const conn = await pool.getConnection();
        const base = makeExecutor(conn);
        let broken = false;
        // START TRANSACTION rides with the first statement and COMMIT may ride
        // with the last (commitWith): a transaction costs its statements' round
        // trips, not two more.
        let began = false;
        let ended = false;
        const send = async (statements: Statement[]) => {
          if (began) return base.script(statements);
          began = true;
          return (await base.script([{ sql: "START TRANSACTION" }, ...statements])).slice(1);
        };
        const atCommit: Array<() => Statement[]> = [];
        const lastStatements = () => atCommit.flatMap((build) => build());
        const committed: Array<() => void> = [];
        const rolledBack: Array<() => void> = [];
        try {
          if (opts.eager) {
            began = true;
            count++;
            await conn.query("START TRANSACTION");
          }
          const result = await fn({
            async query<R>(sql: string, params: unknown[] = []) {
              return (await send([{ sql, params }]))[0] as R[];
            },
            async execute(sql: string, params: unknown[] = []) {
              return writeOutcome((await send([{ sql, params }]))[0]);
            },
            script: (statements) => (statements.length === 0 ? Promise.resolve([]) : send(statements)),
            async commitWith(statements: Statement[], commitOpts: { results?: boolean } = {}) {
              if (ended) throw new Error("commitWith: the transaction is already committed");
              const all = [...statements, ...lastStatements(), { sql: "COMMIT" }];
              if (commitOpts.results === false && !began && (await compoundStatements())) {
                began = true;
                await base.script([asBlock([{ sql: "START TRANSACTION" }, ...all])]);
                ended = true;
                return [];
              }
              const results = await send(all);
              ended = true;
              return results.slice(0, statements.length);
            },
            connection: conn,
            atCommit: (f) => atCommit.push(f),
            afterCommit: (f) => committed.push(f),
            afterRollback: (f) => rolledBack.push(f),
          });
          const last = ended ? [] : lastStatements();
          if (last.length > 0) await send([...last, { sql: "COMMIT" }]);
          else if (!ended && began) {
            count++;
            await conn.query("COMMIT");
          }
          ended = true;
          for (const f of committed) f();
          return result;
        } catch (err) {
          if (began && !ended) {
            try {
              count++;
              await conn.query("ROLLBACK");
            } catch {
              broken = true;
            }
          }
          for (const f of rolledBack) f();
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
