// Garbage collection takes turns across processes: a run waits while another
// session of the same database holds the run's lock, then deletes what its
// groups have passed. (Two runs at once competed for the same rows and made
// the traffic they shared the database with late.)
import mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take, until } from "@/tests/helpers/wait";

const suite = queueSuite("gcturns");

describe("garbage collection", () => {
  it("waits for another process's run on the same database, then collects", async () => {
    const topic = "gc.turns";
    await suite.queue.publisher.publish(
      topic,
      ["a", "b", "c"].map((id) => ({ id, partitionKey: "k", payload: id })),
    );
    const sub = suite.track(
      suite.queue.subscriber.subscribe(topic, { subscriberName: "w", consumerGroup: "g", pollIntervalMs: 10 }),
    );
    await take(sub, 3);

    // Another process's run: a session of its own holding the lock.
    const other = await mysql.createConnection({ uri: suite.db.url });
    try {
      await other.query("SELECT GET_LOCK(CONCAT('sluice_gc:', DATABASE()), 5)");
      let settled = false;
      const run = suite.queue.admin.collectGarbage().finally(() => {
        settled = true;
      });
      await until(
        async () => {
          const [rows] = await other.query(
            "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND STATE = 'User lock'",
          );
          return Number((rows as Array<{ n: number }>)[0]?.n) > 0 || undefined;
        },
        "the run to wait for the lock",
        10_000,
        20,
      );
      expect(settled).toBe(false);
      const [left] = await suite.db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM queue_messages WHERE topic = ?", [
        topic,
      ]);
      expect(Number(left?.n)).toBe(3);

      await other.query("SELECT RELEASE_LOCK(CONCAT('sluice_gc:', DATABASE()))");
      expect(await run).toBe(3);
    } finally {
      await other.end();
    }
  });
});
