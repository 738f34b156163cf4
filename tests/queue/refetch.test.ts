// A partition is fetched again by the settle of its last delivery out, in
// that settle's transaction, when rows are ready (a backlog behind a full
// batch, or rows published or come due since a short one): the next batch is
// in the subscription's hands when the ack resolves, in log order, and a
// subscription that closes gives it back unused.
import { describe, expect, it } from "vitest";
import { createQueue, type SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery } from "@/tests/helpers/wait";

const suite = queueSuite("refetch");

async function publish(topic: string, count: number) {
  await suite.queue.publisher.publish(
    topic,
    Array.from({ length: count }, (_, i) => ({ id: `m${i + 1}`, partitionKey: "k", payload: `p${i + 1}` })),
  );
}

/** Message ids m<from>..m<to>: published in that order, so seqs from..to of the partition. */
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `m${from + i}`);

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.track(
    suite.queue.subscriber.subscribe(topic, { subscriberName: "s", consumerGroup: "g", batchSize: 10, ...opts }),
  );
  return { sub, it: sub[Symbol.asyncIterator]() };
}

describe("refetch in the settle", () => {
  it("hands out the next batch with no statement of its own once the last ack of a full batch resolves", async () => {
    const topic = "refetch.next";
    await publish(topic, 25);
    const { it: iter } = subscribe(topic);
    const first = [];
    for (let i = 0; i < 10; i++) first.push(await nextDelivery(iter, `delivery ${i + 1}`));
    expect(first.map((d) => d.message.id)).toEqual(ids(1, 10));
    for (const d of first.slice(0, 9)) await d.ack();
    await first[9]?.ack();
    const before = suite.queue.statementCount();
    const next = await nextDelivery(iter, "the first of the next batch");
    expect(suite.queue.statementCount() - before).toBe(0);
    expect(next.message.id).toBe("m11");
    expect(next.attempt).toBe(1);
    const rest = [next];
    for (let i = 0; i < 9; i++) rest.push(await nextDelivery(iter, `delivery ${i + 12}`));
    expect(rest.map((d) => d.message.id)).toEqual(ids(11, 20));
    await Promise.all(rest.map((d) => d.ack()));
    // The third batch (5 rows) comes with the last ack of the second (a full batch); it is short, so its last ack only asks what comes next.
    const tail = [];
    for (let i = 0; i < 5; i++) tail.push(await nextDelivery(iter, `delivery ${i + 21}`));
    expect(tail.map((d) => d.message.id)).toEqual(ids(21, 25));
    await Promise.all(tail.map((d) => d.ack()));
    const [states] = await suite.db.sql<{ acked: number; attempts: number }>(
      "SELECT SUM(state = 1) AS acked, SUM(attempts) AS attempts FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g'",
      [topic],
    );
    expect(Number(states?.acked)).toBe(25);
    expect(Number(states?.attempts)).toBe(25);
  });

  it("fetches rows published after a short batch in the settle of that batch's last ack", async () => {
    const topic = "refetch.short";
    await publish(topic, 3);
    const { it: iter } = subscribe(topic, { pollIntervalMs: 60_000 });
    const short = [];
    for (let i = 0; i < 3; i++) short.push(await nextDelivery(iter, `delivery ${i + 1}`));
    // Published from another queue: no wake-up, and the subscriber's next scan is far off.
    const other = createQueue({ url: suite.db.url });
    try {
      await other.publisher.publish(topic, [
        { id: "m4", partitionKey: "k", payload: "p4" },
        { id: "m5", partitionKey: "k", payload: "p5" },
      ]);
    } finally {
      await other.close();
    }
    await Promise.all(short.map((d) => d.ack()));
    const before = suite.queue.statementCount();
    const next = [await nextDelivery(iter, "delivery 4"), await nextDelivery(iter, "delivery 5")];
    expect(suite.queue.statementCount() - before).toBe(0);
    expect(next.map((d) => d.message.id)).toEqual(["m4", "m5"]);
    await Promise.all(next.map((d) => d.ack()));
  });

  it("gives a batch fetched by the last ack back unused when the subscription closes before handing it out", async () => {
    const topic = "refetch.close";
    await publish(topic, 20);
    const { sub, it: iter } = subscribe(topic);
    const first = [];
    for (let i = 0; i < 10; i++) first.push(await nextDelivery(iter, `delivery ${i + 1}`));
    await Promise.all(first.map((d) => d.ack()));
    await sub.close();
    const [out] = await suite.db.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g' AND state = 0 AND owner IS NOT NULL",
      [topic],
    );
    expect(Number(out?.n)).toBe(0);
    const { it: again } = subscribe(topic);
    const d = await nextDelivery(again, "the first row of the batch given back");
    expect(d.message.id).toBe("m11");
    // Handed back unprocessed: the fetch did not use up an attempt.
    expect(d.attempt).toBe(1);
    await d.ack();
  });
});
