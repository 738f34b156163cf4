// The queue console's routers (queue.*, deferred.*, dlq.*, workers.*) on a
// fresh database: procedures called in-process with the test's pipeline in
// the context, checking what they add to the library (bounds on every input,
// payload views, jobs started in the background, errors as tRPC codes).
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "@/server/pipeline";
import type { Delivery } from "@/server/queue";
import { appRouter } from "@/server/trpc/router";
import { contextAs } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { take, until } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;

beforeAll(async () => {
  db = await freshDatabase("trpcq");
  p = open(db.url, await pipelineConfig({ queues: { main: { kind: "noop" } } }));
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

const caller = () => appRouter.createCaller(contextAs(() => p.deps));

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, TRPCError);

/** Publishes `n` messages to `topic` and lets group g reject each with `reason(i)`. */
async function deadLetter(topic: string, n: number, reason: (i: number) => string) {
  await p.deps.queue.publisher.publish(
    topic,
    Array.from({ length: n }, (_, i) => ({ id: `m${i}`, partitionKey: `p${i % 4}`, payload: JSON.stringify({ i }) })),
  );
  const sub = p.deps.queue.subscriber.subscribe(topic, { subscriberName: "t", consumerGroup: "g", pollIntervalMs: 10 });
  await take(sub, n, (d: Delivery) => d.reject(reason(Number(JSON.parse(d.message.payload.toString()).i))));
  await sub.close();
}

describe("queue.*", () => {
  it("gives the overview with topic counts, live workers and builds by status", async () => {
    await p.deps.queue.publisher.publish(
      "ov",
      Array.from({ length: 5 }, (_, i) => ({ id: `m${i}`, partitionKey: `k${i % 2}`, payload: "x" })),
    );
    await p.deps.queue.publisher.publishAfter("ov", { id: "later", partitionKey: "k0", payload: "x" }, 60_000);
    const o = await caller().queue.overview();
    const t = o.topics.find((x) => x.topic === "ov");
    expect(t).toMatchObject({ partitions: 2, messages: { value: 6, capped: false }, deferred: { value: 1 } });
    expect(o.workers).toEqual({ aliveProcesses: 0, aliveSubscribers: 0, totalSubscribers: 0 });
    expect(o.builds).toEqual([]);
    expect((await caller().queue.topic({ topic: "ov" })).topic).toBe("ov");
    expect((await rejection(caller().queue.topic({ topic: "nope" }))).code).toBe("NOT_FOUND");
  });

  it("pages partitions and messages by keyset cursor", async () => {
    const parts = await caller().queue.partitions({ topic: "ov", limit: 1 });
    expect(parts.partitions.map((x) => x.partitionKey)).toEqual(["k0"]);
    const rest = await caller().queue.partitions({ topic: "ov", cursor: parts.next, limit: 1 });
    expect(rest.partitions.map((x) => x.partitionKey)).toEqual(["k1"]);
    const first = await caller().queue.messages({ topic: "ov", state: "all", limit: 4 });
    expect(first.messages).toHaveLength(4);
    const second = await caller().queue.messages({ topic: "ov", state: "all", cursor: first.next, limit: 4 });
    expect(second.messages).toHaveLength(2);
    expect(second.next).toBeNull();
  });

  it("shows a payload as pretty JSON, text or hex", async () => {
    await p.deps.queue.publisher.publish("pv", [
      { id: "json", partitionKey: "a", payload: '{"order":7,"items":[1,2]}', metadata: { trace: "t1" } },
      { id: "text", partitionKey: "a", payload: "plain words, not JSON" },
      { id: "bin", partitionKey: "a", payload: new Uint8Array([0xff, 0xfe, 0x00, 0x41]) },
    ]);
    const json = await caller().queue.message({ topic: "pv", partitionKey: "a", seq: 1 });
    expect(json.payload.kind).toBe("json");
    expect(json.payload.text).toBe('{\n  "order": 7,\n  "items": [\n    1,\n    2\n  ]\n}');
    expect(Buffer.from(json.payload.base64, "base64").toString()).toBe('{"order":7,"items":[1,2]}');
    expect(json.metadata).toEqual({ trace: "t1" });
    const text = await caller().queue.message({ topic: "pv", partitionKey: "a", seq: 2 });
    expect([text.payload.kind, text.payload.text]).toEqual(["text", "plain words, not JSON"]);
    const bin = await caller().queue.message({ topic: "pv", partitionKey: "a", seq: 3 });
    expect(bin.payload.kind).toBe("hex");
    expect(bin.payload.text).toContain("ff fe 00 41");
    expect(bin.payload.bytes).toBe(4);
    expect((await rejection(caller().queue.message({ topic: "pv", partitionKey: "a", seq: 99 }))).code).toBe(
      "NOT_FOUND",
    );
  });

  it("refuses out-of-bounds input before the library sees it", async () => {
    const bad: Array<() => Promise<unknown>> = [
      () => caller().queue.partitions({ topic: "has space", limit: 10 }),
      () => caller().queue.partitions({ topic: "x".repeat(192), limit: 10 }),
      () => caller().queue.messages({ topic: "ov", limit: 201 }),
      () => caller().queue.messages({ topic: "ov", limit: 0 }),
      () => caller().queue.message({ topic: "ov", partitionKey: "k0", seq: 0 }),
      () => caller().queue.message({ topic: "ov", partitionKey: "k0", seq: 2 ** 60 }),
      () => caller().dlq.list({ topic: "ov_dlq", search: "s".repeat(201) }),
      () =>
        caller().deferred.deliverNow({
          addresses: Array.from({ length: 501 }, (_, i) => ({ topic: "ov", partitionKey: "k0", seq: i + 1 })),
        }),
      () => caller().deferred.deliverNow({ addresses: [] }),
      () => caller().dlq.requeueMatching({ filter: { topic: "ov_dlq" }, ratePerSecond: 1001, expectedCount: 0 }),
    ];
    for (const call of bad) expect((await rejection(call())).code).toBe("BAD_REQUEST");
  });
});

describe("deferred.*", () => {
  it("lists deferred messages with time left and delivers picked ones now", async () => {
    await p.deps.queue.publisher.publishAfter("df", { id: "a", partitionKey: "P", payload: "x" }, 120_000);
    await p.deps.queue.publisher.publishAfter("df", { id: "b", partitionKey: "P", payload: "x" }, 60_000);
    const page = await caller().deferred.list({ topic: "df", limit: 1 });
    expect(page.rows.map((r) => r.id)).toEqual(["b"]);
    expect(page.rows[0]?.remainingMs).toBeGreaterThan(50_000);
    const next = await caller().deferred.list({ topic: "df", cursor: page.next, limit: 1 });
    expect(next.rows.map((r) => r.id)).toEqual(["a"]);
    const row = page.rows[0];
    if (!row) throw new Error("no row");
    const res = await caller().deferred.deliverNow({
      addresses: [{ topic: "df", partitionKey: row.partitionKey, seq: row.seq }],
    });
    expect(res).toEqual({ delivered: 1, requested: 1 });
    expect((await caller().deferred.list({ topic: "df", limit: 10 })).rows.map((r) => r.id)).toEqual(["a"]);
  });
});

describe("dlq.*", () => {
  it("lists, searches, groups, counts and shows dead letters", async () => {
    await deadLetter("dq", 12, (i) => (i < 8 ? `order ${100 + i} not found` : `timeout after ${i} ms`));
    expect(await caller().dlq.topics()).toContain("dq_dlq");
    const all = await caller().dlq.list({ topic: "dq_dlq", limit: 5 });
    expect(all.rows).toHaveLength(5);
    const more = await caller().dlq.list({ topic: "dq_dlq", cursor: all.next, limit: 50 });
    expect(more.rows).toHaveLength(7);
    // A blank search is no search.
    expect((await caller().dlq.list({ topic: "dq_dlq", search: "  ", limit: 50 })).rows).toHaveLength(12);
    expect((await caller().dlq.list({ topic: "dq_dlq", search: "TIMEOUT", limit: 50 })).rows).toHaveLength(4);
    const groups = await caller().dlq.failureGroups({ topic: "dq_dlq" });
    expect(groups.map((g) => [g.failureGroup, g.count])).toEqual([
      ["order <n> not found", 8],
      ["timeout after <n> ms", 4],
    ]);
    expect(await caller().dlq.count({ topic: "dq_dlq", failureGroup: "order <n> not found" })).toEqual({ count: 8 });
    const row = all.rows[0];
    if (!row) throw new Error("no row");
    const d = await caller().dlq.detail({ topic: "dq_dlq", partitionKey: row.partitionKey, seq: row.seq });
    expect(d.payload.kind).toBe("json");
    expect(d.reason).toBe(row.reason);
    expect(d.originalTopic).toBe("dq");
    expect(d.originalGroup).toBe("g");
  });

  it("requeues one, then picked ones, and says NOT_FOUND for one that is gone", async () => {
    const rows = (await caller().dlq.list({ topic: "dq_dlq", search: "timeout", limit: 50 })).rows;
    const [a, b, c] = rows.map((r) => ({ topic: r.topic, partitionKey: r.partitionKey, seq: r.seq }));
    if (!a || !b || !c) throw new Error("too few rows");
    expect(await caller().dlq.requeueOne(a)).toEqual({ requeued: 1 });
    const gone = await rejection(caller().dlq.requeueOne(a));
    expect(gone.code).toBe("NOT_FOUND");
    expect(gone.message).toMatch(/no dead letter/);
    expect(await caller().dlq.requeueSelected({ addresses: [a, b, c] })).toEqual({ requeued: 2, requested: 3 });
    expect(await caller().dlq.count({ topic: "dq_dlq", search: "timeout" })).toEqual({ count: 1 });
  });

  it("requeues everything matching as a background job the caller can follow", async () => {
    const filter = { topic: "dq_dlq", failureGroup: "order <n> not found" };
    const job = await caller().dlq.requeueMatching({ filter, ratePerSecond: 1000, expectedCount: 8 });
    expect([job.kind, job.total]).toEqual(["requeue", 8]);
    const done = await until(async () => {
      const j = await caller().dlq.job({ id: job.id });
      return j.state === "done" ? j : undefined;
    }, "the requeue job to finish");
    expect(done.processed).toBe(8);
    expect(await caller().dlq.count(filter)).toEqual({ count: 0 });
    expect(await caller().dlq.count({ topic: "dq_dlq" })).toEqual({ count: 1 });
    expect((await caller().dlq.jobs()).map((j) => j.id)).toContain(job.id);
  });

  it("purges only the confirmed count, and deletes nothing otherwise", async () => {
    await deadLetter("pg", 6, () => "bad input");
    const filter = { topic: "pg_dlq", search: "bad input" };
    const wrong = await rejection(caller().dlq.purge({ filter, expectedCount: 5 }));
    expect(wrong.code).toBe("BAD_REQUEST");
    expect(wrong.message).toMatch(/matches 6 messages, not the 5 you confirmed/);
    expect(await caller().dlq.count(filter)).toEqual({ count: 6 });
    const job = await caller().dlq.purge({ filter, expectedCount: 6 });
    await until(async () => (await caller().dlq.job({ id: job.id })).state === "done", "the purge job to finish");
    expect(await caller().dlq.count({ topic: "pg_dlq" })).toEqual({ count: 0 });
  });

  it("cancels a job, and says NOT_FOUND for an unknown one", async () => {
    await deadLetter("cx", 30, () => "slow");
    const job = await caller().dlq.requeueMatching({
      filter: { topic: "cx_dlq" },
      ratePerSecond: 10,
      expectedCount: 30,
    });
    const cancelled = await caller().dlq.cancelJob({ id: job.id });
    expect(cancelled?.id).toBe(job.id);
    const end = await until(async () => {
      const j = await caller().dlq.job({ id: job.id });
      return j.state !== "running" ? j : undefined;
    }, "the job to stop");
    expect(end.state).toBe("cancelled");
    expect(end.processed).toBeLessThan(30);
    expect((await rejection(caller().dlq.job({ id: "nope" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller().dlq.cancelJob({ id: "nope" }))).code).toBe("NOT_FOUND");
  });
});

describe("workers.*", () => {
  it("lists subscribers with heartbeats and leases", async () => {
    await p.deps.queue.publisher.publish("wk", { id: "1", partitionKey: "P", payload: "x" });
    const sub = p.deps.queue.subscriber.subscribe("wk", {
      subscriberName: "w1",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const it = sub[Symbol.asyncIterator]();
    const held = await it.next();
    const { subscribers } = await caller().workers.list();
    const me = subscribers.find((s) => s.name === "w1");
    expect(me).toMatchObject({ group: "g", topic: "wk", alive: true, leaseCount: 1, leases: ["P"] });
    expect((await caller().queue.overview()).workers.aliveSubscribers).toBeGreaterThanOrEqual(1);
    if (!held.done) await held.value.ack();
    await sub.close();
  });
});
