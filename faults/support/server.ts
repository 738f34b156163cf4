// Server-level access for the scenarios that look past one database: its
// connections (PROCESSLIST) and databases made and dropped next to the one
// the scenario was given.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { databaseName } from "../../db/migrate";

/** The same server as `url`, with no database selected. */
export function serverUrl(url: string): string {
  const u = new URL(url);
  u.pathname = "/";
  return u.toString();
}

/** A database name next to the one in `url` that does not exist yet, and its URL. */
export function siblingDatabase(url: string, label: string): { name: string; url: string } {
  const name = `${databaseName(url).slice(0, 40)}_${label}_${randomBytes(3).toString("hex")}`;
  const u = new URL(url);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

export async function withServer<T>(url: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ uri: serverUrl(url) });
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withServer(url, (c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``));
}

/** Connections the server has open to database `name`, other than the asking one. */
export async function connectionsTo(c: mysql.Connection, name: string): Promise<number> {
  const [rows] = await c.query(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
    [name],
  );
  return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
}
