// Operator offsets: reset-offset replays (or skips) a group's messages in one
// partition, and refuses while a subscriber holds the lease unless forced;
// release-lease takes a lease away so another subscriber can claim it.
import { describe, expect, it } from "vitest";
import { QueueError } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take } from "@/tests/helpers/wait";

const suite = queueSuite("offsets");

const opts = (group: string, name = `s-${group}`) => ({
  subscriberName: name,
  consumerGroup: group,
  pollIntervalMs: 10,
  leaseRenewalIntervalMs: 100,
  leaseDurationMs: 5_000,
  // Tests leave deliveries unsettled on purpose: do not wait for them at close.
  closeTimeoutMs: 100,
});

const publish = (topic: string, pk: string, n: number) =>
  suite.queue.publisher.publish(
    topic,
    Array.from({ length: n }, (_, i) => ({ id: `m${i + 1}`, partitionKey: pk, payload: `${i + 1}` })),
  );

const watermark = async (group: string, topic: string, pk: string) =>
  Number(
    (
      await suite.db.sql<{ watermark: number }>(
        "SELECT watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ?",
        [group, topic, pk],
      )
    )[0]?.watermark,
  );

describe("resetOffset", () => {
  it("moves the watermark back and the messages after it are delivered again", async () => {
    const topic = "off.replay";
    await publish(topic, "P", 5);
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, opts("g")));
    await take(sub, 5);
    await sub.close();
    expect(await watermark("g", topic, "P")).toBe(5);

    const r = await suite.queue.admin.resetOffset("g", topic, "P", 2);
    expect(r).toMatchObject({ previousWatermark: 5, watermark: 2, headSeq: 5, releasedOwner: null });
    expect(await watermark("g", topic, "P")).toBe(2);

    const again = suite.track(suite.queue.subscriber.subscribe(topic, opts("g")));
    const got = await take(again, 3);
    expect(got.map((d) => d.message.id)).toEqual(["m3", "m4", "m5"]);
  });

  it("deletes the group's delivery rows above the new watermark, and no other group's", async () => {
    const topic = "off.rows";
    await publish(topic, "P", 3);
    const a = suite.track(suite.queue.subscriber.subscribe(topic, opts("a")));
    const b = suite.track(suite.queue.subscriber.subscribe(topic, opts("b")));
    // Group a: m1 acked, m2 dead (rejected) — a watermark stuck below rows with delivery state.
    await take(a, 3, (d) => (d.message.id === "m2" ? d.reject("bad") : d.ack()));
    await take(b, 3);
    await Promise.all([a.close(), b.close()]);
    const countB = async () =>
      (await suite.db.sql("SELECT 1 FROM queue_deliveries WHERE consumer_group = 'b' AND topic = ?", [topic])).length;
    const bBefore = await countB();
    const r = await suite.queue.admin.resetOffset("a", topic, "P", 1);
    const rows = await suite.db.sql<{ consumer_group: string; seq: number }>(
      "SELECT consumer_group, seq FROM queue_deliveries WHERE topic = ? AND seq > 1 ORDER BY consumer_group, seq",
      [topic],
    );
    expect(rows.filter((x) => x.consumer_group === "a")).toEqual([]);
    expect(await countB()).toBe(bBefore);
    expect(r.watermark).toBe(1);
    expect(await watermark("b", topic, "P")).toBe(3);
  });

  it("refuses while a live lease is held, unless forced (which releases it)", async () => {
    const topic = "off.leased";
    await publish(topic, "P", 2);
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, opts("g")));
    // Hold m1 unsettled: the subscriber keeps the partition's lease.
    const [held] = await take(sub, 1, async () => {});
    await expect(suite.queue.admin.resetOffset("g", topic, "P", 0)).rejects.toThrow(/live lease/);
    const forced = await suite.queue.admin.resetOffset("g", topic, "P", 0, { force: true });
    expect(forced.releasedOwner).not.toBeNull();
    await expect(held?.ack()).rejects.toBeInstanceOf(QueueError);
  });

  it("rejects a seq past the head, an unknown partition and an unknown group", async () => {
    const topic = "off.bad";
    await publish(topic, "P", 2);
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, opts("g")));
    await take(sub, 2);
    await sub.close();
    await expect(suite.queue.admin.resetOffset("g", topic, "P", 3)).rejects.toThrow(/past the head/);
    await expect(suite.queue.admin.resetOffset("g", topic, "Q", 0)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(suite.queue.admin.resetOffset("nobody", topic, "P", 0)).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(suite.queue.admin.resetOffset("g", topic, "P", -1)).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("releaseLease", () => {
  it("takes the lease from its holder and says who held it", async () => {
    const topic = "off.release";
    await publish(topic, "P", 1);
    const sub = suite.track(suite.queue.subscriber.subscribe(topic, opts("g")));
    await take(sub, 1, async () => {});
    const r = await suite.queue.admin.releaseLease("g", topic, "P");
    expect(r.previousOwner).not.toBeNull();
    const [row] = await suite.db.sql<{ lease_owner: string | null }>(
      "SELECT lease_owner FROM queue_group_partitions WHERE consumer_group = 'g' AND topic = ?",
      [topic],
    );
    expect(row?.lease_owner).toBeNull();
    await expect(suite.queue.admin.releaseLease("g", topic, "nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
