// A fetch of several held partitions locks their group-partition rows in one
// statement, not one per partition: the statements it sends grow by one read
// per partition. It hands each partition its own rows, in whatever order the
// partitions were asked for, and a partition whose lease is another's comes
// back lost while the rest are fetched.
import { describe, expect, it } from "vitest";
import { fetchBatches } from "@/server/queue/fetch";
import { claimPartitions, registerSubscriber, type SubscriberIdentity } from "@/server/queue/leases";
import { parseSubscriptionOptions } from "@/server/queue/options";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("fetchlocks");

const PARTITIONS = 16;

function identity(topic: string, instanceId: string): SubscriberIdentity {
  return { instanceId, subscriberName: "s", group: "g", topic };
}

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
    expect((await claimPartitions(suite.raw, me, keys, 30_000)).sort()).toEqual(keys);

    const asked = [...keys].reverse();
    const refs = asked.map((partitionKey) => ({ group: "g", topic, partitionKey }));
    const before = suite.raw.statements();
    const results = await fetchBatches(suite.raw, refs, me.instanceId, options());
    const sent = suite.raw.statements() - before;

    results.forEach((res, i) => {
      expect(res.kind).toBe("rows");
      if (res.kind !== "rows") return;
      expect(res.rows.map((r) => r.messageId)).toEqual([`m-${asked[i]}`]);
    });
    // START TRANSACTION, one lock, a read per partition; then the hand-out and COMMIT.
    // One lock per partition would be 16 more.
    expect(sent).toBeLessThanOrEqual(2 + PARTITIONS + 4);
  });

  it("returns lost for a partition another subscriber holds and fetches the others", async () => {
    const topic = "fetchlocks.lost";
    const keys = ["a", "b", "c"];
    await publishOnePerPartition(topic, keys);
    const me = identity(topic, "owner-a");
    const other = identity(topic, "owner-b");
    await registerSubscriber(suite.raw, me, "host", 1);
    await registerSubscriber(suite.raw, other, "host", 2);
    expect(await claimPartitions(suite.raw, other, ["b"], 30_000)).toEqual(["b"]);
    expect((await claimPartitions(suite.raw, me, ["a", "c"], 30_000)).sort()).toEqual(["a", "c"]);

    const refs = keys.map((partitionKey) => ({ group: "g", topic, partitionKey }));
    const results = await fetchBatches(suite.raw, refs, me.instanceId, options());

    expect(results.map((r) => r.kind)).toEqual(["rows", "lost", "rows"]);
    const [rowsOfA, , rowsOfC] = results;
    expect(rowsOfA?.kind === "rows" && rowsOfA.rows.map((r) => r.messageId)).toEqual(["m-a"]);
    expect(rowsOfC?.kind === "rows" && rowsOfC.rows.map((r) => r.messageId)).toEqual(["m-c"]);
  });
});
