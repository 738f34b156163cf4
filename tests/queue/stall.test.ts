// A fetch of `seq > watermark LIMIT batchSize` whose window fills with rows
// this group already acked (above a watermark held back by one unresolved
// message) would return nothing new, forever: the partition stalls. Sluice's
// fetch leaves the group's finished rows out in SQL, so it does not.
import { describe, expect, it } from "vitest";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery } from "@/tests/helpers/wait";

const suite = queueSuite("stall");

describe("no stall behind an unresolved message", () => {
  it("keeps delivering a partition whose oldest message is parked far above batchSize acked rows", async () => {
    const topic = "stall.t";
    const batchSize = 5;
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 30 }, (_, i) => ({ id: `m${i}`, partitionKey: "P", payload: String(i) })),
    );
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
      batchSize,
      maxAttempts: 5,
    });
    const it = sub[Symbol.asyncIterator]();
    const seen: string[] = [];
    for (let i = 0; i < 30; i++) {
      const d = await nextDelivery(it, `message ${i}`);
      seen.push(d.message.id);
      // The first message is parked for an hour; it holds the watermark at 0.
      if (d.message.id === "m0") await d.nack({ requeueAfterMs: 3_600_000, reason: "parked" });
      else await d.ack();
    }
    expect(new Set(seen).size).toBe(30);

    // Rows 2..30 are acked above the watermark: more than batchSize of them.
    const [gp] = await suite.db.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE topic = ? AND partition_key = 'P'",
      [topic],
    );
    expect(Number(gp?.watermark)).toBe(0);

    await suite.queue.publisher.publish(topic, [
      { id: "late1", partitionKey: "P", payload: "late1" },
      { id: "late2", partitionKey: "P", payload: "late2" },
    ]);
    const l1 = await nextDelivery(it, "a message published after the acked window");
    const l2 = await nextDelivery(it, "the second late message");
    expect([l1.message.id, l2.message.id]).toEqual(["late1", "late2"]);
    await l1.ack();
    await l2.ack();
    await sub.close();
  });
});
