// Readiness for load balancers and orchestrators: the database answers and
// every committed migration has been applied. Says which of the two failed,
// never how (no host names, no error text, no versions).
import type mysql from "mysql2/promise";
import journal from "@/db/migrations/meta/_journal.json";

export type Readiness = { ready: true } | { ready: false; reason: "database unreachable" | "migrations pending" };

/** How many migrations this build of Sluice ships. */
export const SHIPPED_MIGRATIONS = journal.entries.length;

export async function checkReadiness(pool: Pick<mysql.Pool, "query">): Promise<Readiness> {
  try {
    await pool.query("SELECT 1");
  } catch {
    return { ready: false, reason: "database unreachable" };
  }
  try {
    // drizzle's migrator records each applied migration in this table.
    const [rows] = await pool.query("SELECT COUNT(*) AS n FROM __drizzle_migrations");
    const applied = Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
    return applied >= SHIPPED_MIGRATIONS ? { ready: true } : { ready: false, reason: "migrations pending" };
  } catch {
    return { ready: false, reason: "migrations pending" };
  }
}

/**
 * With innodb_flush_log_at_trx_commit other than 1, a crash of the database
 * host can lose transactions it reported committed: published messages and
 * acks. Returns the warning to print, or undefined when the setting is safe.
 */
export function durabilityWarning(flushLogAtTrxCommit: number | null): string | undefined {
  if (flushLogAtTrxCommit === 1 || flushLogAtTrxCommit === null) return undefined;
  return (
    `warning: the database runs with innodb_flush_log_at_trx_commit=${flushLogAtTrxCommit}: ` +
    "a crash of its host can lose messages and acks it reported committed. Set it to 1 for no loss."
  );
}

export async function readFlushSetting(pool: Pick<mysql.Pool, "query">): Promise<number | null> {
  try {
    const [rows] = await pool.query("SELECT @@innodb_flush_log_at_trx_commit AS v");
    return Number((rows as Array<{ v: number }>)[0]?.v);
  } catch {
    // Not InnoDB, or not allowed to read it: nothing to say.
    return null;
  }
}

/** Prints the durability warning, if any, for the database at `url` (start-up of npm start and the worker). */
export async function warnIfNotDurable(url: string, warn: (line: string) => void): Promise<void> {
  const { default: mysql } = await import("mysql2/promise");
  const conn = await mysql.createConnection({ uri: url });
  try {
    const line = durabilityWarning(await readFlushSetting(conn));
    if (line) warn(line);
  } finally {
    await conn.end();
  }
}
