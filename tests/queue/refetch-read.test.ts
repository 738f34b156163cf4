// A settle that fetches its partition's next batch reads it in its first
// round trip, beside the locks, before the settles are written: two round
// trips in all. What that read must not do: hand back a row the same
// settle acks (even one whose visibility timeout ran out by the clock), let
// the rows it settles block the next batch, or pass a nacked row by.
import { describe, expect, it } from "vitest";
import type { Executor, Statement } from "@/server/queue/db";
import { fetchBatches } from "@/server/queue/fetch";
import { registerSubscriber } from "@/server/queue/leases";
import { parseSubscriptionOptions } from "@/server/queue/options";
import type { PartitionRef } from "@/server/queue/partition-state";
import { type SettleRequest, writeSettles } from "@/server/queue/settle";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("refetchread");

const OWNER = "owner-a";
const opts = {
  ...parseSubscriptionOptions({ subscriberName: "s", consumerGroup: "g", batchSize: 3 }),
  keepIdleLeaseMs: 1_000,
};
const refetch = { owner: OWNER, opts };

/** Publishes `count` rows to one partition and fetches the first batch (3) for OWNER. */
async function firstBatch(topic: string, count: number) {
  await suite.queue.publisher.publish(
    topic,
    Array.from({ length: count }, (_, i) => ({ id: `m${i + 1}`, partitionKey: "k", payload: "x" })),
  );
  await registerSubscriber(suite.raw, { instanceId: OWNER, subscriberName: "s", group: "g", topic }, "h", 1);
  const ref: PartitionRef = { group: "g", topic, partitionKey: "k" };
  const [res] = await fetchBatches(suite.raw, [ref], OWNER, opts, { partitionKeys: ["k"], leaseDurationMs: 30_000 });
  if (res?.kind !== "rows") throw new Error(`first fetch: ${res?.kind}`);
  return { ref, rows: res.rows };
}

/** Writes the settles in a transaction of their own, counting its round trips. */
async function settle(requests: SettleRequest[]) {
  let roundTrips = 0;
  const results = await suite.raw.tx(async (c) => {
    const counted: Executor = {
      ...c,
      script: (statements: Statement[]) => {
        roundTrips++;
        return c.script(statements);
      },
    };
    return writeSettles(counted, requests, (s) => {
      roundTrips++;
      return c.commitWith(s);
    });
  });
  return { results, roundTrips };
}

const settleOf = (ref: PartitionRef, row: { seq: number; attempt: number; fetchNo: number }) => ({
  ref,
  seq: row.seq,
  attempt: row.attempt,
  fetchNo: row.fetchNo,
});

describe("the next batch read by a settle", () => {
  it("comes in the settle's two round trips, and the rows being acked block nothing", async () => {
    const { ref, rows } = await firstBatch("rr.next", 7);
    const requests: SettleRequest[] = rows.map((r, i) => ({
      ...settleOf(ref, r),
      kind: "ack",
      refetch: i === rows.length - 1 ? refetch : undefined,
    }));
    const { results, roundTrips } = await settle(requests);
    expect(roundTrips).toBe(2);
    const last = results[2];
    if (!last || last instanceof Error) throw new Error("the last ack failed");
    expect(last.fetched?.rows.map((r) => r.messageId)).toEqual(["m4", "m5", "m6"]);
    const states = await suite.db.sql<{ seq: number; state: number; owner: string | null }>(
      "SELECT seq, state, owner FROM queue_deliveries WHERE topic = 'rr.next' ORDER BY seq",
    );
    expect(states.map((s) => [Number(s.seq), Number(s.state), s.owner])).toEqual([
      [1, 1, null],
      [2, 1, null],
      [3, 1, null],
      [4, 0, OWNER],
      [5, 0, OWNER],
      [6, 0, OWNER],
    ]);
  });

  it("never hands back a row the same settle acks, though its visibility timeout ran out", async () => {
    const { ref, rows } = await firstBatch("rr.expired", 5);
    // Past its timeout by the database's clock, not yet fetched again: the ack still counts.
    await suite.db.sql(
      "UPDATE queue_deliveries SET visible_at = visible_at - 3600000 WHERE topic = 'rr.expired' AND seq = 2",
    );
    const { results } = await settle(
      rows.map((r, i) => ({ ...settleOf(ref, r), kind: "ack", refetch: i === rows.length - 1 ? refetch : undefined })),
    );
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    const last = results[2];
    expect(last && !(last instanceof Error) && last.fetched?.rows.map((r) => r.messageId)).toEqual(["m4", "m5"]);
    const [acked] = await suite.db.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = 'rr.expired' AND state = 1",
    );
    expect(Number(acked?.n)).toBe(3);
  });

  it("does not fetch past a nack in the same batch: the nacked row comes back first", async () => {
    const { ref, rows } = await firstBatch("rr.nack", 6);
    const [a, b, c] = rows;
    if (!a || !b || !c) throw new Error("three rows expected");
    const { results } = await settle([
      { ...settleOf(ref, a), kind: "ack" },
      { ...settleOf(ref, b), kind: "nack", delayMs: 0, reason: "again" },
      { ...settleOf(ref, c), kind: "ack", refetch },
    ]);
    const last = results[2];
    expect(last && !(last instanceof Error) && last.fetched).toBeUndefined();
    const [next] = await fetchBatches(suite.raw, [ref], OWNER, opts);
    expect(next?.kind === "rows" && next.rows.map((r) => [r.messageId, r.attempt])).toEqual([
      ["m2", 2],
      ["m4", 1],
      ["m5", 1],
    ]);
  });
});
