// The hot statements of a fetch and a settle read a bounded number of index
// entries however many rows the partition has consumed below the watermark
// and holds above it. Counted with the server's handler counters on a
// connection of the test's own (exact, not timed): a plan that starts at the
// partition's first row instead of the watermark reads thousands here.
import mysql from "mysql2/promise";
import { describe, expect, it } from "vitest";
import type { Statement } from "@/server/queue/db";
import {
  advanceWatermark,
  BLOCKING_IN_FLIGHT,
  idleProbe,
  type PartitionRef,
  READY_ROWS,
  settleProbe,
} from "@/server/queue/partition-state";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("backlogcost");

const CONSUMED = 2_000;
const WAITING = 1_000;
const BATCH = 100;
/** Index entries one statement may read: a batch (the last one fetched may be out) and a little, nothing proportional to the partition. */
const MOST_READS = BATCH + 50;

/** Index entries `statements` read on a fresh session (the last statement's reads only). */
async function readsOf(conn: mysql.Connection, statements: Statement[]): Promise<number> {
  const last = statements.length - 1;
  for (const [i, s] of statements.entries()) {
    if (i === last) await conn.query("FLUSH STATUS");
    await conn.query(s.sql, s.params ?? []);
  }
  const [rows] = await conn.query(
    "SHOW SESSION STATUS WHERE Variable_name IN ('Handler_read_next', 'Handler_read_key', 'Handler_icp_attempts', 'Handler_read_rnd_next')",
  );
  return (rows as Array<{ Value: string }>).reduce((n, r) => n + Number(r.Value), 0);
}

describe("the cost of a fetch and a settle in a deep partition", () => {
  it(`reads at most ${MOST_READS} index entries per hot statement with ${CONSUMED} rows consumed and ${WAITING} waiting`, async () => {
    const topic = "deep";
    const ref: PartitionRef = { group: "g", topic, partitionKey: "k" };
    const total = CONSUMED + WAITING;
    for (let from = 0; from < total; from += 1_000) {
      await suite.queue.publisher.publish(
        topic,
        Array.from({ length: 1_000 }, (_, i) => ({ id: `m${from + i}`, partitionKey: "k", payload: "x" })),
      );
    }
    const sub = suite.track(
      suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", batchSize: BATCH }),
    );
    // Acks not awaited one by one: a batch's acks go out together.
    const iter = sub[Symbol.asyncIterator]();
    const acks: Promise<void>[] = [];
    while (acks.length < CONSUMED) {
      const next = await iter.next();
      if (next.done) throw new Error("the subscription ended early");
      acks.push(next.value.ack());
    }
    await Promise.all(acks);
    await sub.close();
    const [gp] = await suite.db.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE consumer_group = 'g' AND topic = ?",
      [topic],
    );
    const watermark = Number(gp?.watermark);
    expect(watermark).toBeGreaterThanOrEqual(CONSUMED - BATCH);

    const conn = await mysql.createConnection({ uri: suite.db.url });
    try {
      const key = [ref.group, ref.topic, ref.partitionKey];
      const watermarkMove = advanceWatermark(ref, watermark);
      const reads = {
        "ready rows": await readsOf(conn, [{ sql: `SELECT m.seq ${READY_ROWS} ORDER BY m.seq LIMIT 10`, params: key }]),
        "blocking in-flight row": await readsOf(conn, [{ sql: BLOCKING_IN_FLIGHT, params: key }]),
        "watermark head": await readsOf(conn, watermarkMove.slice(0, 1)),
        "watermark scan": await readsOf(conn, watermarkMove.slice(0, 2)),
      };
      expect(Object.entries(reads).filter(([, n]) => n > MOST_READS)).toEqual([]);
      // The probes' minimum reads every unfinished row by design (they run only when a fetch came back
      // short of a batch): their cost is the rows waiting, never the rows consumed below the watermark.
      for (const probe of [
        settleProbe(ref, watermark, { owner: "none", keepIdleLeaseMs: 0 }).slice(0, 1),
        [idleProbe(ref, watermark)],
      ]) {
        expect(await readsOf(conn, [...watermarkMove.slice(0, 2), ...probe])).toBeLessThan(3 * WAITING + MOST_READS);
      }
    } finally {
      await conn.end();
    }
  });
});
