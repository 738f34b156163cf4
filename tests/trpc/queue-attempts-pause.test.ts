// queue.attempts, queue.pause and queue.resume called in-process as the
// console calls them: the attempts of a real delivery, the pause recorded with
// the signed-in operator and audited in its transaction, bad input refused.
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "@/server/pipeline";
import { appRouter } from "@/server/trpc/router";
import { contextAs, OPERATOR, VIEWER } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { nextDelivery } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;

beforeAll(async () => {
  db = await freshDatabase("trpcap");
  p = open(db.url, await pipelineConfig({ queues: { main: { kind: "noop" } } }));
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

const caller = (user = OPERATOR) => appRouter.createCaller(contextAs(() => p.deps, user));
const rejection = (promise: Promise<unknown>) => rejectionOf(promise, TRPCError);

async function auditRows(action: string) {
  return db.sql<{ actor: string; target: string; count: number }>(
    "SELECT actor, target, count FROM audit_log WHERE action = ? ORDER BY id",
    [action],
  );
}

describe("queue.attempts", () => {
  it("lists a nacked-then-acked message's attempts in its group", async () => {
    const topic = "tap.attempts";
    await p.deps.queue.publisher.publish(topic, { id: "m", partitionKey: "k", payload: "x" });
    const sub = p.deps.queue.subscriber.subscribe(topic, {
      subscriberName: "console-test",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    const it = sub[Symbol.asyncIterator]();
    await (await nextDelivery(it)).nack({ reason: "flaky dependency" });
    await (await nextDelivery(it)).ack();
    await sub.close();

    const a = await caller(VIEWER).queue.attempts({ topic, partitionKey: "k", seq: 1 });
    const g = a.groups.find((x) => x.group === "g");
    expect(g?.history.map((h) => [h.attempt, h.outcome, h.reason, h.subscriber])).toEqual([
      [1, "nacked", "flaky dependency", "console-test"],
      [2, "acked", null, "console-test"],
    ]);
    expect(a.cap).toBe(20);
    expect((await rejection(caller().queue.attempts({ topic, partitionKey: "k", seq: 99 }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller().queue.attempts({ topic: "bad topic", partitionKey: "k", seq: 1 }))).code).toBe(
      "BAD_REQUEST",
    );
  });
});

describe("queue.pause / queue.resume", () => {
  it("pauses as the signed-in operator, shows it on the topic, audits each change, and resumes", async () => {
    const topic = "tap.pause";
    await p.deps.queue.publisher.publish(topic, { id: "m", partitionKey: "k", payload: "x" });
    const sub = p.deps.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    await (await nextDelivery(sub[Symbol.asyncIterator]())).ack();
    await sub.close();

    const paused = await caller().queue.pause({ topic, group: "g" });
    expect(paused).toMatchObject({ paused: true, pausedBy: OPERATOR.username, changed: true });
    const t = await caller(VIEWER).queue.topic({ topic });
    expect(t.groups.find((g) => g.group === "g")).toMatchObject({ pausedBy: OPERATOR.username });
    expect(t.groups.find((g) => g.group === "g")?.pausedAt).toBe(paused.pausedAt);

    const resumed = await caller().queue.resume({ topic, group: "g" });
    expect(resumed).toMatchObject({ paused: false, pausedBy: null });
    expect(await auditRows("queue.pause")).toEqual([
      { actor: OPERATOR.username, target: JSON.stringify({ group: "g", topic }), count: 1 },
    ]);
    expect(await auditRows("queue.resume")).toEqual([
      { actor: OPERATOR.username, target: JSON.stringify({ group: "g", topic }), count: 1 },
    ]);
  });

  it("refuses a viewer, an unknown group and a malformed name", async () => {
    expect((await rejection(caller(VIEWER).queue.pause({ topic: "tap.pause", group: "g" }))).code).toBe("FORBIDDEN");
    expect((await rejection(caller().queue.pause({ topic: "tap.pause", group: "nobody" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller().queue.resume({ topic: "tap.pause", group: "" }))).code).toBe("BAD_REQUEST");
  });
});
