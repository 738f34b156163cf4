// The queue's sessions run in UTC and READ COMMITTED, as db.ts intends: the
// watermark and NOW_MS depend on it, and a rejected set-up statement used to
// leave every session at the server's defaults without a word.
import { afterAll, beforeAll, expect, it } from "vitest";
import { openDb, type QueueDb } from "@/server/queue/db";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";

let tdb: TestDatabase;
let db: QueueDb;

beforeAll(async () => {
  tdb = await freshDatabase("session");
  db = openDb(tdb.url, 2);
});
afterAll(async () => {
  await db?.end();
  await tdb?.drop();
});

it("runs every session in UTC and READ COMMITTED, in and out of transactions", async () => {
  const [plain] = await db.query<{ tz: string; iso: string }>(
    "SELECT @@session.time_zone AS tz, @@session.tx_isolation AS iso",
  );
  expect(plain).toEqual({ tz: "+00:00", iso: "READ-COMMITTED" });
  const inTx = await db.tx((c) =>
    c.query<{ tz: string; iso: string }>("SELECT @@session.time_zone AS tz, @@session.tx_isolation AS iso"),
  );
  expect(inTx[0]).toEqual({ tz: "+00:00", iso: "READ-COMMITTED" });
});
