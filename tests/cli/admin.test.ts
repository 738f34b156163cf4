// sluice delete-message, purge-topic and stale-leases run as child processes
// against a real database: what they print (--json) is checked against what
// the queue then does, and each change leaves its audit row.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, type Queue, QueueError, type StaleLease } from "@/server/queue";
import { type CliRun, runSluice } from "@/tests/helpers/cli";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

let db: TestDatabase;
let queue: Queue;
const children: ChildProcess[] = [];

function sluice(...args: string[]): Promise<CliRun> {
  return runSluice({ DATABASE_URL: db.url }, args);
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await sluice(...args, "--json");
  if (r.code !== 0) throw new Error(`sluice ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function publish(topic: string, ids: string[], partitionKey = "P") {
  await queue.publisher.publish(
    topic,
    ids.map((id) => ({ id, partitionKey, payload: JSON.stringify({ id }) })),
  );
}

async function auditActions(): Promise<Array<{ action: string; actor: string; count: number; target: string }>> {
  return db.sql("SELECT action, actor, count, target FROM audit_log ORDER BY id");
}

/** A consumer process that takes `count` deliveries, settles none, and waits to be killed. */
function holder(topic: string, group: string, count: number, opts: object) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/fixtures/hold-consumer.ts", db.url, topic, group, String(count), JSON.stringify(opts)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  children.push(child);
  const held = new Promise<string[]>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.once("line", (l) => resolve((JSON.parse(l) as { held: string[] }).held));
    child.once("exit", (code) => reject(new Error(`holder exited early with ${code}`)));
  });
  return { child, held };
}

beforeAll(async () => {
  db = await freshDatabase("cliadmin");
  queue = createQueue({ url: db.url });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await queue?.close();
  await db?.drop();
});

describe("sluice delete-message", () => {
  it("deletes one message and its delivery state; the subscriber holding it cannot settle it; the rest flow on", async () => {
    await publish("del", ["d1", "d2", "d3"]);
    const sub = queue.subscriber.subscribe("del", {
      subscriberName: "del-test",
      consumerGroup: "g",
      pollIntervalMs: 10,
      batchSize: 1,
      closeTimeoutMs: 100,
    });
    const it = sub[Symbol.asyncIterator]();
    const first = await nextDelivery(it, "d1");
    expect(first.message.id).toBe("d1");

    const refused = await sluice("delete-message", "del", "P", "1");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a terminal; pass --yes/);
    expect(await queue.inspect.getMessage("del", "P", 1)).not.toBeNull();

    const deleted = await json<{ deleted: number; id: string; deliveriesCleared: number; inFlightFor: string[] }>(
      "delete-message",
      "del",
      "P",
      "1",
      "--yes",
    );
    expect(deleted).toMatchObject({ deleted: 1, id: "d1", deliveriesCleared: 1, inFlightFor: ["g"] });
    expect(await queue.inspect.getMessage("del", "P", 1)).toBeNull();
    await expect(first.ack()).rejects.toMatchObject({ code: "DELIVERY_EXPIRED" });

    // The partition goes on with the rest, and the watermark passes the hole.
    const rest = await take(sub, 2);
    expect(rest.map((d) => d.message.id)).toEqual(["d2", "d3"]);
    await sub.close();
    const parts = await json<Array<{ partitionKey: string; watermark: number; headSeq: number }>>(
      "lag",
      "del",
      "--partitions",
    );
    expect(parts).toEqual([expect.objectContaining({ partitionKey: "P", watermark: 3, headSeq: 3 })]);

    const missing = await sluice("delete-message", "del", "P", "1", "--yes");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no message P\/1 in topic del/);

    const audit = (await auditActions()).filter((a) => a.action === "queue.delete-message");
    expect(audit).toHaveLength(1);
    expect(audit[0]?.actor).toMatch(/^cli:/);
    expect(JSON.parse(audit[0]?.target ?? "{}")).toEqual({ topic: "del", partitionKey: "P", seq: 1, id: "d1" });
  });
});

describe("sluice purge-topic", () => {
  it("deletes exactly the confirmed count, keeps the partitions counting, and later messages are delivered", async () => {
    await publish("purge.me", ["a", "b", "c"], "A");
    await publish("purge.me", ["d", "e"], "B");
    await publish("purge.other", ["x"]);

    const refused = await sluice("purge-topic", "purge.me");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a terminal; pass --yes/);
    expect(await queue.inspect.countMessages("purge.me")).toBe(5);

    const purged = await json<{ topic: string; deleted: number }>("purge-topic", "purge.me", "--yes");
    expect(purged).toMatchObject({ topic: "purge.me", deleted: 5 });
    expect(await queue.inspect.countMessages("purge.me")).toBe(0);
    expect(await queue.inspect.countMessages("purge.other")).toBe(1);

    const empty = await json<{ deleted: number }>("purge-topic", "purge.me", "--yes");
    expect(empty.deleted).toBe(0);

    // A new message gets the next seq of its partition and reaches a group that subscribes now.
    await publish("purge.me", ["f"], "A");
    const sub = queue.subscriber.subscribe("purge.me", {
      subscriberName: "purge-test",
      consumerGroup: "g",
      pollIntervalMs: 10,
      closeTimeoutMs: 100,
    });
    try {
      const [f] = await take(sub, 1);
      expect(f?.message.id).toBe("f");
    } finally {
      await sub.close();
    }
    expect((await queue.inspect.getMessage("purge.me", "A", 4))?.id).toBe("f");

    const audit = (await auditActions()).filter((a) => a.action === "queue.purge-topic");
    expect(audit.map((a) => a.count)).toEqual([5]);
  });

  it("is refused, with nothing deleted, when the topic holds another count than the one confirmed", async () => {
    await publish("purge.race", ["r1", "r2"]);
    const before = (await auditActions()).length;
    const err = await queue.admin.purgeTopic("purge.race", { expectedCount: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueError);
    expect((err as QueueError).message).toMatch(/now holds 2 messages, not the 1 you confirmed/);
    expect(await queue.inspect.countMessages("purge.race")).toBe(2);
    expect((await auditActions()).length).toBe(before);
  });
});

describe("sluice stale-leases", () => {
  it("lists a killed holder's lease, releases it, and another subscriber takes the partition long before the lease would expire", async () => {
    await publish("stale", ["s1", "s2"]);
    const { child, held } = holder("stale", "g", 1, {
      batchSize: 1,
      leaseRenewalIntervalMs: 100,
      leaseDurationMs: 600_000,
      visibilityTimeoutMs: 1_000,
    });
    expect(await held).toEqual(["P/s1"]);
    // Alive and heartbeating: not stale.
    const live = await json<{ leases: StaleLease[] }>("stale-leases", "--threshold", "5000");
    expect(live.leases.filter((l) => l.topic === "stale")).toEqual([]);

    child.kill("SIGKILL");
    const stale = await until(async () => {
      const r = await json<{ thresholdMs: number; leases: StaleLease[] }>("stale-leases", "--threshold", "300");
      return r.leases.some((l) => l.topic === "stale") ? r : undefined;
    }, "the killed holder's lease to be listed as stale");
    expect(stale.thresholdMs).toBe(300);
    expect(stale.leases).toEqual([
      expect.objectContaining({
        group: "g",
        topic: "stale",
        partitionKey: "P",
        expired: false,
        subscriber: expect.objectContaining({ name: "doomed" }),
      }),
    ]);
    expect(stale.leases[0]?.silentMs).toBeGreaterThan(300);

    const refused = await sluice("stale-leases", "--threshold", "300", "--release");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a terminal; pass --yes/);

    const released = await json<{ released: StaleLease[] }>("stale-leases", "--threshold", "300", "--release", "--yes");
    expect(released.released.map((l) => [l.group, l.topic, l.partitionKey])).toEqual([["g", "stale", "P"]]);
    expect((await queue.inspect.staleLeases({ thresholdMs: 300 })).length).toBe(0);

    // The lease had ten minutes to run: a new subscriber gets both messages within seconds.
    const sub = queue.subscriber.subscribe("stale", {
      subscriberName: "heir",
      consumerGroup: "g",
      pollIntervalMs: 10,
      closeTimeoutMs: 100,
    });
    const got = await take(sub, 2, (d) => d.ack(), 10_000);
    expect(got.map((d) => d.message.id)).toEqual(["s1", "s2"]);
    await sub.close();

    const audit = (await auditActions()).filter((a) => a.action === "queue.release-stale-leases");
    expect(audit.map((a) => a.count)).toEqual([1]);
  });

  it("leaves a lease alone that changed hands since it was listed", async () => {
    await publish("stale.moved", ["m1"]);
    const { child, held } = holder("stale.moved", "g", 1, { leaseRenewalIntervalMs: 100, leaseDurationMs: 600_000 });
    await held;
    child.kill("SIGKILL");
    const [lease] = await until(async () => {
      const r = (await queue.inspect.staleLeases({ thresholdMs: 300 })).filter((l) => l.topic === "stale.moved");
      return r.length > 0 ? r : undefined;
    }, "the lease to be stale");
    if (!lease) throw new Error("no stale lease");
    const released = await queue.admin.releaseStaleLeases(
      [{ group: lease.group, topic: lease.topic, partitionKey: lease.partitionKey, owner: "someone-else" }],
      { thresholdMs: 300 },
    );
    expect(released).toEqual([]);
    expect((await queue.inspect.staleLeases({ thresholdMs: 300 })).map((l) => l.owner)).toContain(lease.owner);
  });

  it("exits 2 for a bad threshold", async () => {
    const r = await sluice("stale-leases", "--threshold", "soon");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--threshold must be a whole number/);
  });
});
