// The console's reads and operator actions on the real database.
import { describe, expect, it } from "vitest";
import { failureGroup } from "@/server/queue/failure-group";
import { runJob } from "@/server/queue/ops/jobs";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("ops");

const sub = (topic: string, extra: Record<string, unknown> = {}) =>
  suite.queue.subscriber.subscribe(topic, {
    subscriberName: "ops-test",
    consumerGroup: "g",
    pollIntervalMs: 10,
    ...extra,
  });

/** Publishes `n` messages and dead-letters them all with `reason(i)`. */
async function deadLetter(topic: string, n: number, reason: (i: number) => string) {
  await suite.queue.publisher.publish(
    topic,
    Array.from({ length: n }, (_, i) => ({ id: `m${i}`, partitionKey: `p${i % 7}`, payload: JSON.stringify({ i }) })),
  );
  const s = sub(topic);
  await take(s, n, (d) => d.reject(reason(Number(JSON.parse(d.message.payload.toString()).i))));
  await s.close();
}

describe("normalised failures", () => {
  it("masks ids, numbers and quoted values", () => {
    expect(failureGroup("order 8812 not found")).toBe(failureGroup("order 9907 not found"));
    expect(failureGroup('user "bob" id 0b7f2a9e-1111-4c3a-9d2e-aaaaaaaaaaaa')).toBe("user <str> id <uuid>");
    expect(failureGroup("timeout")).not.toBe(failureGroup("refused"));
  });
});

describe("overview and topic", () => {
  it("counts messages, deferred rows and DLQ rows per topic, and each group's lag", async () => {
    await suite.queue.publisher.publish(
      "ov.t",
      Array.from({ length: 12 }, (_, i) => ({ id: `m${i}`, partitionKey: `p${i % 3}`, payload: "x" })),
    );
    await suite.queue.publisher.publishAfter("ov.t", { id: "later", partitionKey: "p0", payload: "x" }, 60_000);
    const s = sub("ov.t");
    await take(s, 5, (d) => (d.message.id === "m0" ? d.reject("bad") : d.ack()));
    await s.close();
    const topics = await suite.queue.inspect.listTopics();
    const t = topics.find((x) => x.topic === "ov.t");
    expect(t?.partitions).toBe(3);
    expect(t?.messages).toEqual({ value: 13, capped: false });
    expect(t?.deferred).toEqual({ value: 1, capped: false });
    expect(t?.dlq).toEqual({ value: 1, capped: false });
    const g = t?.groups.find((x) => x.group === "g");
    // 13 published, 5 finished (4 acked + 1 dead): 8 to go.
    expect(g?.lag).toBe(8);
    expect(g?.oldestPendingAt).toBeGreaterThan(0);
    expect(topics.find((x) => x.topic === "ov.t_dlq")?.isDlq).toBe(true);

    const parts = await suite.queue.inspect.listPartitions("ov.t", { limit: 2 });
    expect(parts.partitions.map((p) => p.partitionKey)).toEqual(["p0", "p1"]);
    expect(parts.next).toBe("p1");
    const rest = await suite.queue.inspect.listPartitions("ov.t", { after: "p1", limit: 2 });
    expect(rest.partitions.map((p) => p.partitionKey)).toEqual(["p2"]);
    expect(rest.next).toBeNull();
  });

  it("caps counts at 10,000 instead of counting a big topic", async () => {
    const big = Array.from({ length: 1000 }, (_, i) => ({ id: `b${i}`, partitionKey: `k${i % 50}`, payload: "x" }));
    for (let b = 0; b < 11; b++) {
      await suite.queue.publisher.publish(
        "ov.big",
        big.map((m) => ({ ...m, id: `${m.id}-${b}` })),
      );
    }
    const t = (await suite.queue.inspect.listTopics()).find((x) => x.topic === "ov.big");
    expect(t?.messages).toEqual({ value: 10_000, capped: true });
  });

  it("lists a topic's messages newest first by state, keyset-paged, with a detail view", async () => {
    await suite.queue.publisher.publish(
      "msg.t",
      Array.from({ length: 6 }, (_, i) => ({
        id: `m${i}`,
        partitionKey: "P",
        payload: `{"n":${i}}`,
        metadata: { k: "v" },
      })),
    );
    const s = sub("msg.t", { batchSize: 6 });
    const it = s[Symbol.asyncIterator]();
    const first = await nextDelivery(it);
    await first.ack();
    const held = await nextDelivery(it); // stays in flight
    const all = await suite.queue.inspect.listMessages("msg.t", { group: "g", state: "all", limit: 4 });
    expect(all.messages.map((m) => m.id)).toEqual(["m5", "m4", "m3", "m2"]);
    const more = await suite.queue.inspect.listMessages("msg.t", {
      group: "g",
      state: "all",
      before: all.next ?? 0,
      limit: 4,
    });
    expect(more.messages.map((m) => [m.id, m.state])).toEqual([
      ["m1", "in_flight"],
      ["m0", "done"],
    ]);
    expect(more.next).toBeNull();
    const p1 = await suite.queue.inspect.listMessages("msg.t", {
      group: "g",
      state: "all",
      partitionKey: "P",
      limit: 4,
    });
    expect(p1.messages.map((m) => m.id)).toEqual(["m5", "m4", "m3", "m2"]);
    const p2 = await suite.queue.inspect.listMessages("msg.t", {
      group: "g",
      state: "done",
      partitionKey: "P",
      before: p1.next ?? 0,
      limit: 4,
    });
    expect(p2.messages.map((m) => m.id)).toEqual(["m0"]);
    const inFlight = await suite.queue.inspect.listMessages("msg.t", { group: "g", state: "in_flight", limit: 10 });
    // The rest of the batch was fetched with m1: all in flight to this subscriber.
    expect(inFlight.messages.map((m) => m.id).sort()).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    const done = await suite.queue.inspect.listMessages("msg.t", { group: "g", state: "done", limit: 10 });
    expect(done.messages.map((m) => m.id)).toEqual(["m0"]);

    const detail = await suite.queue.inspect.getMessage("msg.t", "P", 2);
    expect(detail?.id).toBe("m1");
    expect(detail?.payload.toString()).toBe('{"n":1}');
    expect(detail?.metadata).toEqual({ k: "v" });
    expect(detail?.groups).toEqual([expect.objectContaining({ group: "g", state: "in_flight", attempts: 1 })]);
    await held.ack();
    await s.close();
  });
});

describe("deferred", () => {
  it("lists deferred messages soonest first with time left, and delivers chosen ones now", async () => {
    await suite.queue.publisher.publishAfter("def.t", { id: "late", partitionKey: "P", payload: "x" }, 120_000);
    await suite.queue.publisher.publishAfter("def.t", { id: "soon", partitionKey: "Q", payload: "x" }, 60_000);
    const page = await suite.queue.inspect.listDeferred({ topic: "def.t", limit: 10 });
    expect(page.rows.map((r) => r.id)).toEqual(["soon", "late"]);
    expect(page.rows[0]?.remainingMs).toBeGreaterThan(50_000);
    expect(page.rows[0]?.remainingMs).toBeLessThanOrEqual(60_000);
    const everywhere = await suite.queue.inspect.listDeferred({ limit: 1 });
    expect(everywhere.next).not.toBeNull();

    const s = sub("def.t");
    const it = s[Symbol.asyncIterator]();
    const soon = page.rows[0];
    if (!soon) throw new Error("no row");
    expect(
      await suite.queue.admin.deliverNow([{ topic: "def.t", partitionKey: soon.partitionKey, seq: soon.seq }]),
    ).toBe(1);
    const d = await nextDelivery(it, "the message delivered now");
    expect(d.message.id).toBe("soon");
    await d.ack();
    await s.close();
    expect((await suite.queue.inspect.listDeferred({ topic: "def.t", limit: 10 })).rows.map((r) => r.id)).toEqual([
      "late",
    ]);
  });
});

describe("DLQ", () => {
  it("searches by error text, id and partition key, and groups failures", async () => {
    await deadLetter("dq.search", 30, (i) => (i < 20 ? `order ${1000 + i} not found` : `timeout after ${i} ms`));
    const topic = "dq.search_dlq";
    expect(await suite.queue.inspect.listDlqTopics()).toContain(topic);
    const found = await suite.queue.inspect.listDlq({ topic, search: "TIMEOUT" }, { limit: 50 });
    expect(found.rows).toHaveLength(10);
    expect((await suite.queue.inspect.listDlq({ topic, search: "m7" }, { limit: 50 })).rows.map((r) => r.id)).toEqual([
      "m7",
    ]);
    expect((await suite.queue.inspect.listDlq({ topic, search: "p3" }, { limit: 50 })).rows).toHaveLength(4);
    const groups = await suite.queue.inspect.dlqFailureGroups(topic);
    expect(groups.map((g) => [g.failureGroup, g.count])).toEqual([
      ["order <n> not found", 20],
      ["timeout after <n> ms", 10],
    ]);
    const byGroup = await suite.queue.inspect.countDlq({ topic, failureGroup: "timeout after <n> ms" });
    expect(byGroup).toBe(10);
    const page1 = await suite.queue.inspect.listDlq({ topic }, { limit: 25 });
    const page2 = await suite.queue.inspect.listDlq({ topic }, { before: page1.next ?? 0, limit: 25 });
    expect(page1.rows.length + page2.rows.length).toBe(30);
    expect(page2.next).toBeNull();
    const detail = await suite.queue.inspect.getDeadLetter(
      topic,
      page1.rows[0]?.partitionKey ?? "",
      page1.rows[0]?.seq ?? 0,
    );
    expect(detail?.payload.toString()).toMatch(/^\{"i":\d+\}$/);
  });

  it("requeues everything matching a filter as a paced job, and only that", async () => {
    await deadLetter("dq.job", 55, (i) => (i < 50 ? `flaky dependency (${i})` : "bad input"));
    const topic = "dq.job_dlq";
    const filter = { topic, failureGroup: "flaky dependency (<n>)" };
    const job = await suite.queue.admin.createJob({ kind: "requeue", filter, ratePerSecond: 20, createdBy: "test" });
    expect([job.state, job.total]).toEqual(["running", 50]);
    const waits: number[] = [];
    const done = await runJob(suite.raw, job.id, "runner-1", async (ms) => {
      waits.push(ms);
    });
    expect([done?.state, done?.processed]).toEqual(["done", 50]);
    // 20 per batch at 20/s: about a second between batches.
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...waits)).toBeGreaterThan(800);
    expect(await suite.queue.inspect.countDlq({ topic })).toBe(5);
    // The requeued 50 come back to group g.
    const s = sub("dq.job");
    const again = await take(s, 50);
    await s.close();
    expect(new Set(again.map((d) => d.message.id)).size).toBe(50);
  });

  it("cancels a job between batches", async () => {
    await deadLetter("dq.cancel", 30, () => "nope");
    const job = await suite.queue.admin.createJob({
      kind: "requeue",
      filter: { topic: "dq.cancel_dlq" },
      ratePerSecond: 10,
      createdBy: "t",
    });
    const done = await runJob(suite.raw, job.id, "runner-1", async () => {
      await suite.queue.admin.cancelJob(job.id);
    });
    expect(done?.state).toBe("cancelled");
    expect(done?.processed).toBe(10);
    expect(await suite.queue.inspect.countDlq({ topic: "dq.cancel_dlq" })).toBe(20);
  });

  it("purges only with the confirmed count", async () => {
    await deadLetter("dq.purge", 12, (i) => (i < 10 ? "gone" : "keep"));
    const filter = { topic: "dq.purge_dlq", search: "gone" };
    const count = await suite.queue.inspect.countDlq(filter);
    expect(count).toBe(10);
    await expect(
      suite.queue.admin.createJob({ kind: "purge", filter, ratePerSecond: 1000, createdBy: "t", expectedCount: 9 }),
    ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await suite.queue.inspect.countDlq(filter)).toBe(10);
    const job = await suite.queue.admin.createJob({
      kind: "purge",
      filter,
      ratePerSecond: 1000,
      createdBy: "t",
      expectedCount: count,
    });
    const done = await suite.queue.admin.runJob(job.id, "r");
    expect([done?.state, done?.processed]).toEqual(["done", 10]);
    expect(await suite.queue.inspect.countDlq({ topic: "dq.purge_dlq" })).toBe(2);
  });

  it("requeues selected rows and resumes a job whose runner died", async () => {
    await deadLetter("dq.sel", 6, () => "x");
    const rows = (await suite.queue.inspect.listDlq({ topic: "dq.sel_dlq" }, { limit: 10 })).rows;
    const picked = rows.slice(0, 2).map((r) => ({ topic: r.topic, partitionKey: r.partitionKey, seq: r.seq }));
    expect(await suite.queue.admin.requeueDeadLetters(picked)).toBe(2);
    expect(await suite.queue.admin.requeueDeadLetters(picked)).toBe(0);

    const job = await suite.queue.admin.createJob({
      kind: "purge",
      filter: { topic: "dq.sel_dlq" },
      ratePerSecond: 100,
      createdBy: "t",
    });
    // A runner that claimed it and died: its heartbeat is old.
    await suite.db.sql("UPDATE queue_jobs SET runner = 'dead', heartbeat_at = 0 WHERE id = ?", [job.id]);
    expect(await suite.queue.admin.claimableJobs()).toContain(job.id);
    const done = await suite.queue.admin.runJob(job.id, "heir");
    expect([done?.state, done?.processed]).toEqual(["done", 4]);
  });
});

describe("workers", () => {
  it("lists subscribers with their heartbeat and leases", async () => {
    await suite.queue.publisher.publish("wk.t", [
      { id: "a", partitionKey: "A", payload: "x" },
      { id: "b", partitionKey: "B", payload: "x" },
    ]);
    const s = sub("wk.t", { subscriberName: "lister" });
    const it = s[Symbol.asyncIterator]();
    const d = await nextDelivery(it);
    const rows = await until(async () => {
      const list = (await suite.queue.inspect.listSubscribers()).filter((r) => r.topic === "wk.t");
      return list.length === 1 && list[0]?.leaseCount ? list : undefined;
    }, "the subscriber with its leases");
    expect(rows[0]).toMatchObject({ name: "lister", group: "g", alive: true, pid: process.pid });
    expect(rows[0]?.leases).toContain(d.message.partitionKey);
    await d.ack();
    await s.close();
    expect((await suite.queue.inspect.listSubscribers()).filter((r) => r.topic === "wk.t")).toHaveLength(0);
  });
});
