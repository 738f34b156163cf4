// A connection of the scenario's own to the database server, outside the
// scenario's database (no default schema), so a PROCESSLIST filter on the
// scenario's database never finds it and a kill never hits it.
import mysql from "mysql2/promise";

export interface DbAdmin {
  /** The scenario database's name, for qualifying tables. */
  database: string;
  conn: mysql.Connection;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export function splitDatabaseUrl(databaseUrl: string): { serverUrl: string; database: string } {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  u.pathname = "/";
  return { serverUrl: u.toString(), database };
}

export async function openDbAdmin(databaseUrl: string): Promise<DbAdmin> {
  const { serverUrl, database } = splitDatabaseUrl(databaseUrl);
  const conn = await mysql.createConnection({ uri: serverUrl, supportBigNumbers: true, bigNumberStrings: false });
  await conn.query("SET time_zone = '+00:00'");
  // A killed statement of ours is not the fault under test: keep the admin alive.
  conn.on("error", () => {});
  return {
    database,
    conn,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await conn.query(sql, params);
      return rows as T[];
    },
    async close() {
      await conn.end().catch(() => conn.destroy());
    },
  };
}
