// Mutual exclusion per idempotency key, so "look for the run, else dispatch"
// is one step even when two workers trigger the same batch at once. GitHub
// has no idempotency key of its own: without this, both would find nothing
// and both would dispatch.
import type { Pool } from "mysql2/promise";

export interface KeyedLock {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** Within one process only (tests, and a runner without a database). */
export class LocalLock implements KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(fn);
    this.tails.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.tails.get(key) === mine) this.tails.delete(key);
    }
  }
}

/**
 * Across every process on the same database: MySQL/MariaDB's GET_LOCK, held
 * on a connection of its own. A worker that dies loses its connection and
 * with it the lock, so a crash never leaves a batch locked.
 */
export class MysqlLock implements KeyedLock {
  constructor(
    private readonly pool: Pool,
    /** How long to wait for another holder, s. */
    private readonly waitS = 60,
  ) {}

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // Lock names are server-wide and at most 64 characters: hash the database's name in with the key.
    const name = "SHA2(CONCAT('sluice-github|', DATABASE(), '|', ?), 256)";
    const conn = await this.pool.getConnection();
    let healthy = true;
    try {
      const [rows] = await conn.query(`SELECT GET_LOCK(${name}, ?) AS got`, [key, this.waitS]);
      if ((rows as Array<{ got: number | null }>)[0]?.got !== 1) {
        throw new Error(`another worker has been triggering this build for over ${this.waitS} s`);
      }
      try {
        return await fn();
      } finally {
        await conn.query(`SELECT RELEASE_LOCK(${name})`, [key]).catch(() => {
          healthy = false;
        });
      }
    } finally {
      // A connection that could not release the lock is closed, which releases it on the server.
      if (healthy) conn.release();
      else conn.destroy();
    }
  }
}
