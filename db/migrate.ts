// Creates the database if it is missing and applies the committed drizzle-kit
// migrations. Several processes starting at once against an empty database is
// normal (a worker fleet): a named lock lets exactly one apply the migrations
// while the others wait, then find nothing left to do.
import path from "node:path";
import { drizzle } from "drizzle-orm/mysql2";
import { migrate } from "drizzle-orm/mysql2/migrator";
import mysql from "mysql2/promise";
import { redactUrl as redact } from "./url";

export const MIGRATIONS_FOLDER = path.join(__dirname, "migrations");
const LOCK_NAME = "sluice:migrate";
const LOCK_TIMEOUT_S = 120;

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_$-]{1,64}$/.test(name)) {
    throw new Error(`the database name in ${redact(url)} must be 1-64 letters, digits, _ $ or -`);
  }
  return name;
}

export async function createDatabaseIfMissing(url: string): Promise<void> {
  const name = databaseName(url);
  const server = new URL(url);
  server.pathname = "/";
  const conn = await mysql.createConnection({ uri: server.toString() });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await conn.end();
  }
}

export async function migrateDatabase(url: string): Promise<void> {
  await createDatabaseIfMissing(url);
  const conn = await mysql.createConnection({ uri: url, multipleStatements: false });
  try {
    const [rows] = await conn.query("SELECT GET_LOCK(?, ?) AS got", [LOCK_NAME, LOCK_TIMEOUT_S]);
    if ((rows as Array<{ got: number | null }>)[0]?.got !== 1) {
      throw new Error(`another process held the migration lock for over ${LOCK_TIMEOUT_S} s`);
    }
    try {
      await migrate(drizzle(conn), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    await conn.end();
  }
}
