// Offsets taken from AUTO_INCREMENT commit out of order across concurrent
// publishers, and a watermark that passes a lower offset not yet committed
// loses that message for good. Sluice's partition sequence is handed out
// under the partition row's lock, so a later publisher waits.
import { describe, expect, it } from "vitest";
import { createQueue } from "@/server/queue";
import { appendToLog } from "@/server/queue/log";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, signal, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("commit");

describe("commit order", () => {
  it("never lets the watermark pass a message whose publish has not committed yet", async () => {
    const topic = "co.hold";
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const it = sub[Symbol.asyncIterator]();
    await suite.queue.publisher.publish(topic, { id: "first", partitionKey: "P", payload: "0" });
    const first = await nextDelivery(it, "the first message");
    await first.ack();

    // Publisher A takes its sequence number and stays uncommitted.
    const entered = signal();
    const release = signal();
    const holding = suite.raw.tx(async (c) => {
      await appendToLog(c, [
        {
          topic,
          partitionKey: "P",
          messageId: "A",
          origin: "",
          payload: Buffer.from("A"),
          metadata: undefined,
          delayMs: 0,
        },
      ]);
      entered.resolve();
      await release.promise;
    });
    await entered.promise;

    // Publisher B starts later; with AUTO_INCREMENT offsets it would commit first.
    let bDone = false;
    const b = suite.queue.publisher.publish(topic, { id: "B", partitionKey: "P", payload: "B" }).then(() => {
      bDone = true;
    });
    // B's statement stays in the server's process list, blocked on the partition row A holds.
    await until(async () => {
      const rows = await suite.db.sql<{ n: number }>(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
         WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE 'INSERT INTO queue_partitions%'`,
        [suite.db.name],
      );
      return Number(rows[0]?.n) >= 1;
    }, "publisher B to wait for A's partition lock");
    expect(bDone).toBe(false);

    // The consumer keeps polling meanwhile; nothing is visible, so nothing is skipped.
    const pending = it.next();
    release.resolve();
    await holding;
    await b;
    const a = await pending;
    if (a.done) throw new Error("subscription ended");
    expect(a.value.message.id).toBe("A");
    await a.value.ack();
    const bDelivery = await nextDelivery(it, "B");
    expect(bDelivery.message.id).toBe("B");
    await bDelivery.ack();
    await sub.close();

    const [gp] = await suite.db.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE consumer_group = 'g' AND topic = ? AND partition_key = 'P'",
      [topic],
    );
    expect(Number(gp?.watermark)).toBe(3);
  });

  it("loses nothing with many publishers committing into one partition while it is consumed", async () => {
    const topic = "co.stress";
    const publishers = 8;
    const perPublisher = 40;
    const sub = suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", pollIntervalMs: 5 });
    const consumed = take(sub, publishers * perPublisher, (d) => d.ack(), 30_000);
    // A second queue instance (its own pool) so publishes really run side by side.
    const other = createQueue({ url: suite.db.url });
    await Promise.all(
      Array.from({ length: publishers }, async (_, p) => {
        const q = p % 2 === 0 ? suite.queue : other;
        for (let i = 0; i < perPublisher; i++) {
          await q.publisher.publish(topic, { id: `p${p}-${i}`, partitionKey: "hot", payload: `${p}:${i}` });
        }
      }),
    );
    const got = await consumed;
    await sub.close();
    await other.close();
    const ids = got.map((d) => d.message.id);
    expect(new Set(ids).size).toBe(publishers * perPublisher);
    for (let p = 0; p < publishers; p++) {
      const mine = got.filter((d) => d.message.id.startsWith(`p${p}-`)).map((d) => Number(d.message.id.split("-")[1]));
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
    const seqs = await suite.db.sql<{ seq: number }>(
      "SELECT seq FROM queue_messages WHERE topic = ? AND partition_key = 'hot' ORDER BY seq",
      [topic],
    );
    expect(seqs.map((r) => Number(r.seq))).toEqual(Array.from({ length: publishers * perPublisher }, (_, i) => i + 1));
  });
});
