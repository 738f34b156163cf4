// /api/ready's check and the start-up durability warning, on the real database.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkReadiness, durabilityWarning, readFlushSetting } from "@/server/readiness";
import { freshDatabase, type TestDatabase } from "./helpers/db";

let db: TestDatabase;
let pool: mysql.Pool;

beforeAll(async () => {
  db = await freshDatabase("ready");
  pool = mysql.createPool({ uri: db.url, connectionLimit: 2 });
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});

describe("readiness", () => {
  it("is ready on a migrated database, and says so without detail", async () => {
    expect(await checkReadiness(pool)).toEqual({ ready: true });
  });

  it("is not ready while a migration is missing", async () => {
    const [rows] = await pool.query("SELECT id FROM __drizzle_migrations ORDER BY id DESC LIMIT 1");
    const last = (rows as Array<{ id: number }>)[0];
    await pool.query("DELETE FROM __drizzle_migrations WHERE id = ?", [last?.id]);
    expect(await checkReadiness(pool)).toEqual({ ready: false, reason: "migrations pending" });
  });

  it("is not ready when the database does not answer", async () => {
    const dead = mysql.createPool({ uri: "mysql://root@127.0.0.1:1/nothing", connectTimeout: 1000 });
    expect(await checkReadiness(dead)).toEqual({ ready: false, reason: "database unreachable" });
    await dead.end();
  });
});

describe("durability warning", () => {
  it("warns unless innodb_flush_log_at_trx_commit is 1", async () => {
    expect(durabilityWarning(1)).toBeUndefined();
    expect(durabilityWarning(2)).toMatch(/innodb_flush_log_at_trx_commit=2: a crash .* can lose/);
    expect(durabilityWarning(0)).toMatch(/=0/);
    // This machine's server is configured safely.
    expect(await readFlushSetting(pool)).toBe(1);
  });
});
