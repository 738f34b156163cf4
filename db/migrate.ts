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
/** drizzle-kit's bookkeeping table: one row per applied migration. */
const MIGRATIONS_TABLE = "__drizzle_migrations";
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

/** `applied`: how many migrations this call applied (0 when another process already had, or none was new). */
export async function migrateDatabase(url: string): Promise<{ applied: number }> {
  await createDatabaseIfMissing(url);
  const conn = await mysql.createConnection({ uri: url, multipleStatements: false });
  try {
    const [rows] = await conn.query("SELECT GET_LOCK(?, ?) AS got", [LOCK_NAME, LOCK_TIMEOUT_S]);
    if ((rows as Array<{ got: number | null }>)[0]?.got !== 1) {
      throw new Error(`another process held the migration lock for over ${LOCK_TIMEOUT_S} s`);
    }
    try {
      const before = await appliedCount(conn);
      await migrate(drizzle(conn), { migrationsFolder: MIGRATIONS_FOLDER });
      return { applied: (await appliedCount(conn)) - before };
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [LOCK_NAME]);
    }
  } finally {
    await conn.end();
  }
}

async function appliedCount(conn: mysql.Connection): Promise<number> {
  const [tables] = await conn.query(
    "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [MIGRATIONS_TABLE],
  );
  if (Number((tables as Array<{ n: number }>)[0]?.n) === 0) return 0;
  const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM \`${MIGRATIONS_TABLE}\``);
  return Number((rows as Array<{ n: number }>)[0]?.n ?? 0);
}
