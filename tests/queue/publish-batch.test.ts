// Concurrent publishes of one queue share transactions, keep their call
// order within a partition, and each resolves only once its rows are stored.
import { describe, expect, it } from "vitest";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("pubbatch");

describe("concurrent publishes", () => {
  it("share transactions: twenty calls at once cost a few statements, not twenty transactions", async () => {
    const before = suite.queue.statementCount();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        suite.queue.publisher.publish("pb.many", { id: `m${i}`, partitionKey: `k${i % 4}`, payload: "x" }),
      ),
    );
    const sent = suite.queue.statementCount() - before;
    // One by one, each call is a transaction of four statements (eighty in all).
    expect(sent).toBeLessThanOrEqual(12);
    const [row] = await suite.db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM queue_messages WHERE topic = 'pb.many'");
    expect(Number(row?.n)).toBe(20);
  });

  it("give one partition's messages seqs in call order, and resolve each call once it is stored", async () => {
    const stored: boolean[] = [];
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        await suite.queue.publisher.publish("pb.order", { id: `m${i}`, partitionKey: "k", payload: String(i) });
        const rows = await suite.db.sql("SELECT 1 FROM queue_messages WHERE topic = 'pb.order' AND message_id = ?", [
          `m${i}`,
        ]);
        stored[i] = rows.length === 1;
      }),
    );
    expect(stored).toEqual(Array(30).fill(true));
    const rows = await suite.db.sql<{ message_id: string; seq: number }>(
      "SELECT message_id, seq FROM queue_messages WHERE topic = 'pb.order' ORDER BY seq",
    );
    expect(rows.map((r) => r.message_id)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });
});
