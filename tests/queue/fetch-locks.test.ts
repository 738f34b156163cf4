// A fetch of several held partitions locks their group-partition rows in one
// statement, not one per partition: the statements it sends grow by one read
// per partition. It hands each partition its own rows, in whatever order the
// partitions were asked for, and a partition whose lease is another's comes
// back lost while the rest are fetched. The leases it is asked to take
// (claim) it takes in the same transaction, and a partition someone else
// holds comes back lost.
import { describe, expect, it } from "vitest";
import { fetchBatches } from "@/server/queue/fetch";
import { registerSubscriber, type SubscriberIdentity } from "@/server/queue/leases";
import { parseSubscriptionOptions } from "@/server/queue/options";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("fetchlocks");

const PARTITIONS = 16;

function identity(topic: string, instanceId: string): SubscriberIdentity {
  return { instanceId, subscriberName: "s", group: "g", topic };
}

const claim = (partitionKeys: string[]) => ({ partitionKeys, leaseDurationMs: 30_000 });

const options = () => ({
  ...parseSubscriptionOptions({ subscriberName: "s", consumerGroup: "g" }),
  keepIdleLeaseMs: 1_000,
});

async function publishOnePerPartition(topic: string, keys: string[]) {
  await suite.queue.publisher.publish(
    topic,
    keys.map((k) => ({ id: `m-${k}`, partitionKey: k, payload: k })),
  );
}

describe("a fetch of several partitions", () => {
  it("locks them in one statement and hands each its own row, whatever order they were asked in", async () => {
    const topic = "fetchlocks.many";
    const keys = Array.from({ length: PARTITIONS }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await publishOnePerPartition(topic, keys);
    const me = identity(topic, "owner-a");
    await registerSubscriber(suite.raw, me, "host", 1);

    const asked = [...keys].reverse();
    const refs = asked.map((partitionKey) => ({ group: "g", topic, partitionKey }));
    const before = suite.raw.statements();
    const results = await fetchBatches(suite.raw, refs, me.instanceId, options(), claim(asked));
    const sent = suite.raw.statements() - before;

    results.forEach((res, i) => {
      expect(res.kind).toBe("rows");
      if (res.kind !== "rows") return;
      expect(res.rows.map((r) => r.messageId)).toEqual([`m-${asked[i]}`]);
    });
    // START TRANSACTION, the claim's insert and update, one lock, a read per partition; then
    // the hand-out and COMMIT. One lock per partition would be 16 more.
    expect(sent).toBeLessThanOrEqual(4 + PARTITIONS + 4);
    const leased = await suite.raw.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_group_partitions WHERE topic = ? AND lease_owner = ?",
      [topic, me.instanceId],
    );
    expect(Number(leased[0]?.n)).toBe(PARTITIONS);
  });

  it("takes the leases it claims, and returns lost for a partition another subscriber holds", async () => {
    const topic = "fetchlocks.lost";
    const keys = ["a", "b", "c"];
    await publishOnePerPartition(topic, keys);
    const me = identity(topic, "owner-a");
    const other = identity(topic, "owner-b");
    await registerSubscriber(suite.raw, me, "host", 1);
    await registerSubscriber(suite.raw, other, "host", 2);
    const refOf = (partitionKey: string) => ({ group: "g", topic, partitionKey });
    const [ofOther] = await fetchBatches(suite.raw, [refOf("b")], other.instanceId, options(), claim(["b"]));
    expect(ofOther?.kind === "rows" && ofOther.rows.map((r) => r.messageId)).toEqual(["m-b"]);

    const results = await fetchBatches(suite.raw, keys.map(refOf), me.instanceId, options(), claim(keys));

    expect(results.map((r) => r.kind)).toEqual(["rows", "lost", "rows"]);
    const [rowsOfA, , rowsOfC] = results;
    expect(rowsOfA?.kind === "rows" && rowsOfA.rows.map((r) => r.messageId)).toEqual(["m-a"]);
    expect(rowsOfC?.kind === "rows" && rowsOfC.rows.map((r) => r.messageId)).toEqual(["m-c"]);
  });
});
