// A connection of the scenario's own to the database server, outside the
// scenario's database (no default schema), so a PROCESSLIST filter on the
// scenario's database never finds it, a kill never hits it, and a count of
// the database's connections never includes it. Tables are qualified with
// `database`. Also databases made next to the scenario's one.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { databaseName } from "@/db/migrate";

export interface DbAdmin {
  /** The scenario database's name, for qualifying tables. */
  database: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Connections the server has open to database `name` (default the scenario's). */
  connectionsTo(name?: string): Promise<number>;
  close(): Promise<void>;
}

function serverUrl(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  u.pathname = "/";
  return u.toString();
}

export async function openDbAdmin(databaseUrl: string): Promise<DbAdmin> {
  const database = databaseName(databaseUrl);
  const conn = await mysql.createConnection({
    uri: serverUrl(databaseUrl),
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  await conn.query("SET time_zone = '+00:00'");
  // A killed statement of ours is not the fault under test: keep the admin alive.
  conn.on("error", () => {});
  const query = async <T>(sql: string, params: unknown[] = []) => (await conn.query(sql, params))[0] as T[];
  return {
    database,
    query,
    async connectionsTo(name = database) {
      const [row] = await query<{ n: number }>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        [name],
      );
      return Number(row?.n ?? 0);
    },
    async close() {
      await conn.end().catch(() => conn.destroy());
    },
  };
}

/** A database name next to the one in `url` that does not exist yet, and its URL. */
export function siblingDatabase(url: string, label: string): { name: string; url: string } {
  const name = `${databaseName(url).slice(0, 40)}_${label}_${randomBytes(3).toString("hex")}`;
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}
