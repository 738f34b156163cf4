// Between full scans a subscriber's scan reads only the partitions that can
// have become ready since the scan before (published to, never marked idle,
// idle mark come due), through their indexes: a topic's drained partitions
// cost it nothing however many there are. Index entries are counted with the
// server's handler counters on a connection of the test's own (exact, not
// timed), as in backlog-cost.test.ts.
import type mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import type { Executor } from "@/server/queue/db";
import { type ScanResult, type SubscriberIdentity, scanReadyPartitions } from "@/server/queue/leases";
import { releaseStatement } from "@/server/queue/partition-state";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { until } from "@/tests/helpers/wait";

const suite = queueSuite("scanchanges");

const DRAINED = 300;
/** Index entries a changes-only scan may read here: the few partitions that changed, and a little. */
const MOST_READS = 40;

const scanner: SubscriberIdentity = { instanceId: "scanner", subscriberName: "s", group: "g", topic: "drained" };

/** One scan on `conn`, with the index entries it read. */
async function scan(
  conn: mysql.PoolConnection,
  publishedSince?: number,
  id = scanner,
): Promise<ScanResult & { reads: number }> {
  const c = {
    query: async (sql: string, params?: unknown[]) => (await conn.query(sql, params))[0],
  } as unknown as Executor;
  await conn.query("FLUSH STATUS");
  const result = await scanReadyPartitions(c, id, 200, { publishedSince, liveWithinMs: 30_000 });
  const [rows] = await conn.query(
    "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_key', 'Handler_read_rnd_next', 'Handler_read_first')",
  );
  const reads = (rows as Array<{ Value: string }>).reduce((n, r) => n + Number(r.Value), 0);
  return { ...result, reads };
}

const keys = (r: ScanResult) => r.partitions.map((p) => p.partitionKey).sort();

async function dbNow(): Promise<number> {
  const [row] = await suite.db.sql<{ now: number }>("SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED) AS now");
  return Number(row?.now);
}

describe("the ready scan between full scans", () => {
  it(`reads the partitions that changed, not the ${DRAINED} drained ones`, async () => {
    const topic = scanner.topic;
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: DRAINED }, (_, i) => ({ id: `m${i}`, partitionKey: `k${i}`, payload: "x" })),
    );
    // Every partition drained for group g, as a subscriber leaves one it gave back with nothing due.
    await suite.db.sql(
      `INSERT INTO queue_group_partitions (consumer_group, topic, partition_key, watermark, idle_until, idle_head, updated_at)
       SELECT 'g', topic, partition_key, head_seq, NULL, head_seq, 0 FROM queue_partitions WHERE topic = ?`,
      [topic],
    );
    const conn = await suite.raw.pool.getConnection();
    try {
      const full = await scan(conn);
      expect(keys(full)).toEqual([]);
      expect(full.leasedCount).toBe(0);
      expect(full.reads).toBeGreaterThanOrEqual(DRAINED);

      let since = await dbNow();
      const quiet = await scan(conn, since);
      expect(keys(quiet)).toEqual([]);
      expect(quiet.leasedCount).toBeNull();
      expect(quiet.reads).toBeLessThanOrEqual(MOST_READS);

      // A publish into a drained partition: the next changes-only scan lists it, and only it.
      await suite.queue.publisher.publish(topic, { id: "again", partitionKey: "k7", payload: "x" });
      const published = await scan(conn, since);
      expect(keys(published)).toEqual(["k7"]);
      expect(published.reads).toBeLessThanOrEqual(MOST_READS);

      // A partition left with rows and no idle mark (a lease given back mid-backlog, a new one): listed.
      await suite.db.sql(
        "UPDATE queue_group_partitions SET watermark = watermark - 1, idle_head = NULL WHERE topic = ? AND partition_key = 'k3'",
        [topic],
      );
      expect(keys(await scan(conn, since))).toEqual(["k3", "k7"]);

      // A deferred row whose partition was marked idle until it is due: listed once it is, not before.
      await suite.queue.publisher.publishAfter(topic, { id: "later", partitionKey: "k11", payload: "x" }, 400);
      await suite.db.sql(
        `UPDATE queue_group_partitions g JOIN queue_partitions p ON p.topic = g.topic AND p.partition_key = g.partition_key
           JOIN queue_messages m ON m.topic = p.topic AND m.partition_key = p.partition_key AND m.seq = p.head_seq
         SET g.idle_until = m.visible_after, g.idle_head = p.head_seq
         WHERE g.consumer_group = 'g' AND g.topic = ? AND g.partition_key = 'k11'`,
        [topic],
      );
      // From here on k7's publish is older than the scan before: only a full scan lists it.
      since = await dbNow();
      expect(keys(await scan(conn, since))).toEqual(["k3"]);
      const due = await until(async () => {
        const r = await scan(conn, since);
        return r.partitions.some((p) => p.partitionKey === "k11") ? r : undefined;
      }, "the idle mark of k11 come due");
      expect(keys(due)).toEqual(["k11", "k3"]);
      expect(due.reads).toBeLessThanOrEqual(MOST_READS);

      // The full scan lists all three.
      expect(keys(await scan(conn))).toEqual(["k11", "k3", "k7"]);
    } finally {
      conn.release();
    }
  });

  it("counts the group's live subscribers in the same statement, full or changes-only", async () => {
    const topic = "livecount";
    const id = { ...scanner, topic };
    const now = await dbNow();
    // Two with a fresh heartbeat, one whose heartbeat is older than the lease, one of another group.
    await suite.db.sql(
      `INSERT INTO queue_subscribers (instance_id, subscriber_name, consumer_group, topic, host, pid, started_at, heartbeat_at)
       VALUES ('a', 's', 'g', ?, 'h', 1, ?, ?), ('b', 's', 'g', ?, 'h', 2, ?, ?),
              ('stale', 's', 'g', ?, 'h', 3, ?, ?), ('other', 's', 'h', ?, 'h', 4, ?, ?)`,
      [topic, now, now, topic, now, now, topic, now, now - 60_000, topic, now, now],
    );
    const conn = await suite.raw.pool.getConnection();
    try {
      expect((await scan(conn, undefined, id)).live).toBe(2);
      expect((await scan(conn, now, id)).live).toBe(2);
    } finally {
      conn.release();
    }
  });

  it("a lease given back marks a drained partition idle, and unmarks one with rows left so the next scan lists it", async () => {
    const topic = "released";
    const id = { ...scanner, topic };
    await suite.queue.publisher.publish(topic, [
      { id: "a1", partitionKey: "left", payload: "x" },
      { id: "a2", partitionKey: "left", payload: "x" },
      { id: "b1", partitionKey: "done", payload: "x" },
    ]);
    // Both held by the scanner: "left" with a row above its watermark and a stale idle mark, "done" drained.
    await suite.db.sql(
      `INSERT INTO queue_group_partitions
         (consumer_group, topic, partition_key, watermark, lease_owner, lease_expires_at, idle_until, idle_head, updated_at)
       VALUES ('g', ?, 'left', 1, 'scanner', 1e15, NULL, 1, 0), ('g', ?, 'done', 1, 'scanner', 1e15, NULL, NULL, 0)`,
      [topic, topic],
    );
    for (const partitionKey of ["left", "done"]) {
      const { sql, params } = releaseStatement({ group: "g", topic, partitionKey }, "scanner");
      await suite.raw.execute(sql, params);
    }
    const marks = await suite.db.sql<{ partition_key: string; idle_until: number | null; idle_head: number | null }>(
      "SELECT partition_key, idle_until, idle_head FROM queue_group_partitions WHERE topic = ? ORDER BY partition_key",
      [topic],
    );
    expect(
      marks.map((m) => [m.partition_key, m.idle_until, m.idle_head === null ? null : Number(m.idle_head)]),
    ).toEqual([
      ["done", null, 1],
      ["left", null, null],
    ]);
    const conn = await suite.raw.pool.getConnection();
    try {
      expect(keys(await scan(conn, await dbNow(), id))).toEqual(["left"]);
    } finally {
      conn.release();
    }
  });
});
