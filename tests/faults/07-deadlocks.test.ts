// The deadlock scenario, and the transaction runner's retry rule proven one
// statement at a time: 1213 and 1205 run the transaction again from its
// start, every other error (syntax, a plain duplicate key, NOT NULL) surfaces
// on the first attempt, and the same id published concurrently is one row.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario, { countedTx, openImpatientDb } from "@/faults/scenarios/07-deadlocks";
import { createQueue } from "@/server/queue";
import { openDb, type QueueDb } from "@/server/queue/db";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { signal, until } from "@/tests/helpers/wait";

let tdb: TestDatabase;
let db: QueueDb;
let other: mysql.Connection;

beforeAll(async () => {
  tdb = await freshDatabase("f");
  db = openDb(tdb.url, 2);
  other = await mysql.createConnection({ uri: tdb.url });
  await other.query("CREATE TABLE fault_rows (id int PRIMARY KEY, v int NOT NULL)");
  await other.query("CREATE TABLE fault_ballast (id int AUTO_INCREMENT PRIMARY KEY, pad varchar(100) NOT NULL)");
  await other.query("INSERT INTO fault_rows VALUES (1, 0), (2, 0)");
});
afterAll(async () => {
  other?.destroy();
  await db?.end();
  await tdb?.drop();
});

/** The InnoDB transaction of one of the pool's sessions is waiting for a lock. */
async function someoneWaits() {
  return until(async () => {
    const [rows] = await other.query("SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
    return (rows as unknown[]).length > 0;
  }, "a transaction waiting for a lock");
}

describe("db.tx retries", () => {
  it.each([
    ["a syntax error", "SELEC 1", "other"],
    ["a duplicate primary key outside the dedup", "INSERT INTO fault_rows VALUES (1, 1)", "duplicate"],
    ["a NOT NULL violation", "INSERT INTO fault_rows VALUES (9, NULL)", "other"],
  ])("surfaces %s on the first attempt", async (_, statement, kind) => {
    let attempts = 0;
    const err = await db
      .tx(async (c) => {
        attempts++;
        await c.execute(statement);
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(attempts).toBe(1);
    const { classifyMysqlError } = await import("@/server/queue");
    expect(classifyMysqlError(err)).toBe(kind);
  });

  it("runs a deadlock victim again from the start", async () => {
    // The other session outweighs ours (ballast rows), so InnoDB picks ours as the victim.
    await other.query("START TRANSACTION");
    await other.query("INSERT INTO fault_ballast (pad) VALUES ('x'), ('x'), ('x'), ('x'), ('x'), ('x'), ('x'), ('x')");
    await other.query("SELECT * FROM fault_rows WHERE id = 1 FOR UPDATE");
    const haveRow2 = signal();
    const run = countedTx(db, async (c, attempt) => {
      await c.query("SELECT * FROM fault_rows WHERE id = 2 FOR UPDATE");
      if (attempt === 1) haveRow2.resolve();
      await c.query("SELECT * FROM fault_rows WHERE id = 1 FOR UPDATE");
      await c.execute("UPDATE fault_rows SET v = v + 1 WHERE id IN (1, 2)");
    });
    await haveRow2.promise;
    await someoneWaits();
    // Closes the cycle: ours waits for row 1, this for row 2.
    await other.query("SELECT * FROM fault_rows WHERE id = 2 FOR UPDATE");
    await other.query("COMMIT");
    const { attempts, errors } = await run;
    expect(errors).toEqual(["deadlock"]);
    expect(attempts).toBe(2);
    const [rows] = await other.query("SELECT v FROM fault_rows ORDER BY id");
    expect(rows).toEqual([{ v: 1 }, { v: 1 }]);
  });

  it("runs a lock-wait timeout again from the start", async () => {
    const impatient = openImpatientDb(tdb.url);
    try {
      await other.query("START TRANSACTION");
      await other.query("SELECT * FROM fault_rows WHERE id = 1 FOR UPDATE");
      const secondTry = signal();
      const run = countedTx(impatient, async (c, attempt) => {
        if (attempt === 2) secondTry.resolve();
        await c.execute("UPDATE fault_rows SET v = v + 10 WHERE id = 1");
      });
      await secondTry.promise;
      await other.query("COMMIT");
      const { attempts, errors } = await run;
      expect(errors).toEqual(["lock_wait_timeout"]);
      expect(attempts).toBe(2);
    } finally {
      await impatient.end();
    }
  });

  it("stores one row when the same id is published concurrently, and every publish succeeds", async () => {
    const queue = createQueue({ url: tdb.url, connectionLimit: 5 });
    try {
      const publishes = Array.from({ length: 5 }, () =>
        queue.publisher.publish("same", { id: "once", partitionKey: "k", payload: "x" }),
      );
      await expect(Promise.all(publishes)).resolves.toHaveLength(5);
      const [rows] = await other.query("SELECT COUNT(*) AS n FROM queue_messages WHERE topic = 'same'");
      expect(Number((rows as Array<{ n: number }>)[0]?.n)).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe(scenario.name, () => {
  it("retries deadlocked and timed-out transactions with nothing lost, doubled or reordered", async () => {
    const scenarioDb = await freshDatabase("f");
    try {
      const lines: string[] = [];
      const result = await scenario.run({ databaseUrl: scenarioDb.url, durationMs: 8_000, log: (l) => lines.push(l) });
      console.log(`${scenario.name}: ${lines.join("; ")}`);
      expect(result.problems, result.problems.join("\n")).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.faults).toBeGreaterThan(2);
      expect(result.published).toBeGreaterThan(100);
    } finally {
      await scenarioDb.drop();
    }
  }, 90_000);
});
