// db/client.ts: the console's pool runs every session in UTC, and a session
// whose set-up statement failed is never used (it once was: a failed SET
// left the session on the server's time zone without a word, and NOW_MS
// then read another clock than the queue's).
import { afterAll, beforeAll, expect, it } from "vitest";
import { openUtcPool } from "@/db/client";
import { freshDatabase, type TestDatabase } from "./helpers/db";
import { type RewriteProxy, rewriteProxy } from "./helpers/rewrite-proxy";

let tdb: TestDatabase;
let proxy: RewriteProxy;

beforeAll(async () => {
  tdb = await freshDatabase("client");
  // The server rejects '+99:00' ("Unknown or incorrect time zone"): the set-up fails, the connection lives on.
  proxy = await rewriteProxy(tdb.url, "SET time_zone = '+00:00'", "SET time_zone = '+99:00'", 1);
});
afterAll(async () => {
  await proxy?.close();
  await tdb?.drop();
});

const TZ = "SELECT @@session.time_zone AS tz";

it("runs its sessions in UTC", async () => {
  const pool = openUtcPool(tdb.url, { connectionLimit: 1 });
  try {
    const [rows] = await pool.query(TZ);
    expect(rows).toEqual([{ tz: "+00:00" }]);
  } finally {
    await pool.end();
  }
});

it("never runs a query on a session whose set-up failed, and goes on with a fresh one", async () => {
  const pool = openUtcPool(proxy.url, { connectionLimit: 1, connectTimeout: 5_000 });
  try {
    const first = await pool.query(TZ).then(
      ([rows]) => rows,
      (err: Error) => err,
    );
    expect(proxy.rewrites()).toBe(1);
    // Either the query failed with its connection, or it ran on a session that is in UTC: never on the server's zone.
    if (!(first instanceof Error)) expect(first).toEqual([{ tz: "+00:00" }]);
    const [again] = await pool.query(TZ);
    expect(again).toEqual([{ tz: "+00:00" }]);
  } finally {
    await pool.end();
  }
});
