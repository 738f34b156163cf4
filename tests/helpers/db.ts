// A fresh, migrated database per test file (graphile-worker's habit): tests
// never see each other's rows or anything an earlier run left behind.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { openUtcPool } from "../../db/client";
import { migrateDatabase } from "../../db/migrate";

const SERVER = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/";

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs one statement on a connection of its own (UTC, like the queue's). */
  sql<T = Record<string, unknown>>(statement: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function freshDatabase(label = "t"): Promise<TestDatabase> {
  const name = `sluice_${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = new URL(name, SERVER).toString();
  await migrateDatabase(url);
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
