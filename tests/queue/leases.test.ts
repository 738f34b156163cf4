// Leases: subscribers of a group split partitions and never process a message
// twice while leases hold; a killed subscriber's partitions are taken over
// after the lease expires and its unsettled messages come back; a graceful
// close hands partitions over at once; drained partitions keep no lease.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import type { Delivery, Subscription } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("lease");

const leases = (topic: string) =>
  suite.db.sql<{ partition_key: string; lease_owner: string | null }>(
    "SELECT partition_key, lease_owner FROM queue_group_partitions WHERE topic = ? ORDER BY partition_key",
    [topic],
  );

function startHolder(topic: string, group: string, count: number, opts: object) {
  // node --import tsx, not the tsx binary: SIGKILL must reach the consumer itself, not a wrapper.
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "tests/fixtures/hold-consumer.ts",
      suite.db.url,
      topic,
      group,
      String(count),
      JSON.stringify(opts),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const held = new Promise<string[]>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.once("line", (line) => resolve((JSON.parse(line) as { held: string[] }).held));
    child.once("exit", (code) => reject(new Error(`holder exited early with ${code}`)));
  });
  return { child, held };
}

/** A subscriber of group g that polls every 10 ms, renews every 100 ms, and fetches 5 at a time. */
const busyCfg = (name: string) => ({
  subscriberName: name,
  consumerGroup: "g",
  pollIntervalMs: 10,
  leaseRenewalIntervalMs: 100,
  leaseDurationMs: 5_000,
  batchSize: 5,
});

/**
 * Subscribers that share `total` deliveries: each holds a delivery for
 * `holdS` seconds (so both are busy at once) and acks it. `seen` lists them
 * in the order received, over every subscriber.
 */
function sharedWork(total: number, holdS: number) {
  const seen: Array<{ who: string; d: Delivery }> = [];
  let done = 0;
  const run = async (who: string, sub: Subscription) => {
    const it = sub[Symbol.asyncIterator]();
    while (done < total) {
      const r = await Promise.race([it.next(), until(() => done >= total, "all done", 60_000).then(() => null)]);
      if (!r || r.done) break;
      seen.push({ who, d: r.value });
      await suite.db.sql("SELECT SLEEP(?)", [holdS]);
      await r.value.ack();
      done++;
    }
  };
  return { seen, run };
}

describe("leases", () => {
  it("splits partitions between subscribers of a group and processes each message once", async () => {
    const topic = "lease.split";
    const a = suite.queue.subscriber.subscribe(topic, busyCfg("a"));
    const b = suite.queue.subscriber.subscribe(topic, busyCfg("b"));
    const total = 10 * 30;
    const { seen, run } = sharedWork(total, 0.002);
    const runs = [run("a", a), run("b", b)];
    await until(async () => {
      const rows = await suite.db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM queue_subscribers WHERE topic = ?", [
        topic,
      ]);
      return Number(rows[0]?.n) === 2;
    }, "both subscribers to register");
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: total }, (_, i) => ({ id: `m${i}`, partitionKey: `p${i % 10}`, payload: String(i) })),
    );
    await Promise.all(runs);
    await a.close();
    await b.close();
    const keys = seen.map((s) => `${s.d.message.partitionKey}/${s.d.message.id}`);
    expect(new Set(keys).size).toBe(total);
    expect(seen.length).toBe(total);
    expect(seen.every((s) => s.d.attempt === 1)).toBe(true);
    const byA = seen.filter((s) => s.who === "a").length;
    expect(byA).toBeGreaterThan(total * 0.25);
    expect(byA).toBeLessThan(total * 0.75);
  });

  it("a subscriber that joins while another holds every busy partition gets its share, in order, at a batch boundary", async () => {
    const topic = "lease.share";
    const partitions = 10;
    const total = partitions * 60;
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: total }, (_, i) => ({
        id: `m${i}`,
        partitionKey: `p${i % partitions}`,
        payload: String(i),
      })),
    );
    const { seen, run } = sharedWork(total, 0.005);
    const a = suite.track(suite.queue.subscriber.subscribe(topic, busyCfg("a")));
    const runA = run("a", a);
    // Alone, a's fair share is every partition with work, and its batches are full: it refetches each in its settle.
    await until(async () => {
      const held = await leases(topic);
      return (
        held.length === partitions &&
        held.every((l) => l.lease_owner !== null && l.lease_owner === held[0]?.lease_owner)
      );
    }, "a to hold every partition");
    const b = suite.track(suite.queue.subscriber.subscribe(topic, busyCfg("b")));
    const runB = run("b", b);
    await Promise.all([runA, runB]);
    const keys = seen.map((s) => s.d.message.id);
    expect(new Set(keys).size).toBe(total);
    expect(seen.every((s) => s.d.attempt === 1)).toBe(true);
    // b came late and still took its part of the backlog.
    const byB = seen.filter((s) => s.who === "b").length;
    expect(byB).toBeGreaterThan(total * 0.2);
    // Each partition's messages were received in log order across the hand-over.
    for (let p = 0; p < partitions; p++) {
      const ids = seen.filter((s) => s.d.message.partitionKey === `p${p}`).map((s) => Number(s.d.message.id.slice(1)));
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
  });

  it("takes over a killed subscriber's partitions after the lease expires and redelivers its messages", async () => {
    const topic = "lease.kill";
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 4 }, (_, i) => ({ id: `m${i}`, partitionKey: "P", payload: String(i) })),
    );
    const leaseDurationMs = 1500;
    const holder = startHolder(topic, "g", 2, {
      leaseDurationMs,
      leaseRenewalIntervalMs: 300,
      visibilityTimeoutMs: 2000,
      batchSize: 2,
    });
    const held = await holder.held;
    expect(held).toEqual(["P/m0", "P/m1"]);
    const [lease] = await leases(topic);
    expect(lease?.lease_owner).not.toBeNull();
    holder.child.kill("SIGKILL");

    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "heir",
      consumerGroup: "g",
      pollIntervalMs: 10,
      leaseDurationMs,
      leaseRenewalIntervalMs: 300,
    });
    const got = await take(sub, 4);
    await sub.close();
    expect(got.map((d) => [d.message.id, d.attempt])).toEqual([
      ["m0", 2],
      ["m1", 2],
      ["m2", 1],
      ["m3", 1],
    ]);
  });

  it("while a lease holds, another subscriber of the group gets nothing from that partition", async () => {
    const topic = "lease.hold";
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 3 }, (_, i) => ({ id: `m${i}`, partitionKey: "P", payload: String(i) })),
    );
    const holder = startHolder(topic, "g", 1, { leaseDurationMs: 60_000, leaseRenewalIntervalMs: 1000, batchSize: 1 });
    expect(await holder.held).toEqual(["P/m0"]);
    const other = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "other",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const it = other[Symbol.asyncIterator]();
    const pending = it.next();
    // m1 and m2 are ready, but the partition's lease is the holder's.
    const raced = await Promise.race([
      pending.then(() => "delivered"),
      suite.db.sql("SELECT SLEEP(0.5)").then(() => "idle"),
    ]);
    expect(raced).toBe("idle");
    holder.child.kill("SIGKILL");
    await new Promise((r) => holder.child.once("exit", r));
    // Expire the dead holder's lease and delivery by hand to end the test quickly.
    await suite.db.sql("UPDATE queue_group_partitions SET lease_expires_at = 0 WHERE topic = ?", [topic]);
    await suite.db.sql("UPDATE queue_deliveries SET visible_at = 0 WHERE topic = ?", [topic]);
    const r = await pending;
    if (r.done) throw new Error("ended");
    // The partition's order holds across the takeover: m0 comes back before m1.
    expect([r.value.message.id, r.value.attempt]).toEqual(["m0", 2]);
    await r.value.ack();
    await other.close();
  });

  it("hands partitions over at once on a graceful close", async () => {
    const topic = "lease.close";
    await suite.queue.publisher.publish(topic, [
      { id: "a", partitionKey: "P", payload: "a" },
      { id: "b", partitionKey: "P", payload: "b" },
    ]);
    const long = { leaseDurationMs: 600_000, leaseRenewalIntervalMs: 60_000, pollIntervalMs: 10, batchSize: 1 };
    const first = suite.queue.subscriber.subscribe(topic, { subscriberName: "first", consumerGroup: "g", ...long });
    const [a] = await take(first, 1);
    expect(a?.message.id).toBe("a");
    await first.close();
    expect((await leases(topic)).map((l) => l.lease_owner)).toEqual([null]);
    const subs = await suite.db.sql("SELECT * FROM queue_subscribers WHERE topic = ?", [topic]);
    expect(subs).toHaveLength(0);
    // With a 10-minute lease, only a release lets the second subscriber in.
    const second = suite.queue.subscriber.subscribe(topic, { subscriberName: "second", consumerGroup: "g", ...long });
    const [b] = await take(second, 1);
    expect([b?.message.id, b?.attempt]).toEqual(["b", 1]);
    await second.close();
  });

  it("gives back the lease of a drained partition", async () => {
    const topic = "lease.drain";
    await suite.queue.publisher.publish(
      topic,
      Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, partitionKey: `p${i}`, payload: String(i) })),
    );
    const sub = suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const it = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await (await nextDelivery(it)).ack();
    const idle = it.next();
    await until(async () => (await leases(topic)).every((l) => l.lease_owner === null), "every lease to be released");
    const rows = await leases(topic);
    expect(rows).toHaveLength(5);
    await sub.close();
    expect((await idle).done).toBe(true);
  });
});
