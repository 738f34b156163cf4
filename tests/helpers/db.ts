// A fresh, migrated database per test file (graphile-worker's habit): tests
// never see each other's rows or anything an earlier run left behind.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/mysql2";
import { migrate } from "drizzle-orm/mysql2/migrator";
import mysql from "mysql2/promise";
import { openUtcPool } from "@/db/client";
import { createDatabaseIfMissing, MIGRATIONS_FOLDER, migrateDatabase } from "@/db/migrate";

const SERVER = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/";

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs one statement on a connection of its own (UTC, like the queue's). */
  sql<T = Record<string, unknown>>(statement: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * `through`: migrate only up to and including that migration (its tag, e.g.
 * "0002_pipeline"), for a test of rows an older schema wrote; migrateDatabase
 * applies the rest.
 */
export async function freshDatabase(label = "t", opts: { through?: string } = {}): Promise<TestDatabase> {
  const name = `sluice_${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = new URL(name, SERVER).toString();
  if (opts.through === undefined) await migrateDatabase(url);
  else await migrateThrough(url, opts.through);
  const pool = openUtcPool(url, { connectionLimit: 4 });
  return {
    url,
    name,
    async sql<T>(statement: string, params: unknown[] = []) {
      const [rows] = await pool.query(statement, params);
      return rows as T[];
    },
    async drop() {
      await pool.end();
      const conn = await mysql.createConnection({ uri: SERVER });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}

/** Applies the committed migrations up to `tag`, from a copy of the folder whose journal ends there. */
async function migrateThrough(url: string, tag: string): Promise<void> {
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  const last = journal.entries.findIndex((e) => e.tag === tag);
  if (last < 0) throw new Error(`no migration ${tag} in the journal`);
  const entries = journal.entries.slice(0, last + 1);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-migrations-"));
  try {
    fs.mkdirSync(path.join(folder, "meta"));
    fs.writeFileSync(path.join(folder, "meta", "_journal.json"), JSON.stringify({ ...journal, entries }));
    for (const e of entries)
      fs.copyFileSync(path.join(MIGRATIONS_FOLDER, `${e.tag}.sql`), path.join(folder, `${e.tag}.sql`));
    await createDatabaseIfMissing(url);
    const conn = await mysql.createConnection({ uri: url });
    try {
      await migrate(drizzle(conn), { migrationsFolder: folder });
    } finally {
      await conn.end();
    }
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}
