// Idle cost must not grow with every partition a topic has ever had.
// Drained partitions give their leases back, and an idle
// subscriber sends one scan per poll plus a heartbeat per renewal interval,
// with 1 drained partition or 1,000.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { take, until } from "@/tests/helpers/wait";

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase("idle");
});
afterAll(async () => {
  await db.drop();
});

const pollIntervalMs = 20;
const leaseRenewalIntervalMs = 200;
const WINDOW_MS = 1_000;

/** Statements an idle subscriber may send in `ms`: a scan per poll, one heartbeat per renewal (it holds no lease). */
const budget = (ms: number) => Math.ceil(ms / pollIntervalMs) + 1 + (Math.ceil(ms / leaseRenewalIntervalMs) + 1);

async function idleStatements(partitions: number) {
  const topic = `idle.p${partitions}`;
  const queue = createQueue({ url: db.url });
  for (let i = 0; i < partitions; i += 500) {
    const n = Math.min(500, partitions - i);
    await queue.publisher.publish(
      topic,
      Array.from({ length: n }, (_, k) => ({ id: "m", partitionKey: `p${i + k}`, payload: "x" })),
    );
  }
  const sub = queue.subscriber.subscribe(topic, {
    subscriberName: "s",
    consumerGroup: "g",
    pollIntervalMs,
    leaseRenewalIntervalMs,
  });
  await take(sub, partitions);
  const pending = sub[Symbol.asyncIterator]().next();
  await until(async () => {
    const [r] = await db.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_group_partitions WHERE topic = ? AND lease_owner IS NOT NULL",
      [topic],
    );
    return Number(r?.n) === 0;
  }, "every drained partition to give its lease back");
  const before = queue.statementCount();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const elapsed = performance.now() - t0;
  const sent = queue.statementCount() - before;
  await sub.close();
  await pending;
  await queue.close();
  return { sent, elapsed };
}

describe("idle cost", () => {
  it("is bounded by the poll and renewal intervals, with 1 or 1,000 drained partitions", async () => {
    const one = await idleStatements(1);
    const many = await idleStatements(1_000);
    expect(one.sent).toBeGreaterThan(0);
    expect(one.sent).toBeLessThanOrEqual(budget(one.elapsed));
    expect(many.sent).toBeLessThanOrEqual(budget(many.elapsed));
  });
});
