// The audit log: every console mutation writes its row in the same
// transaction as the change, and a change that rolls back takes its row
// with it. Procedures are called in-process as an operator.
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeAudit } from "@/server/auth/audit";
import type { BuildRunner } from "@/server/buildrunner/types";
import type { Pipeline } from "@/server/pipeline";
import type { PipelineDeps } from "@/server/pipeline/deps";
import type { Delivery } from "@/server/queue";
import { appRouter } from "@/server/trpc/router";
import { contextAs, OPERATOR } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { take, until } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;

beforeAll(async () => {
  db = await freshDatabase("audit");
  p = open(db.url, await pipelineConfig({ queues: { main: { kind: "noop" } } }));
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

const caller = (deps: () => PipelineDeps = () => p.deps) => appRouter.createCaller(contextAs(deps));

interface AuditRow {
  actor: string;
  action: string;
  target: string;
  count: number;
  address: string;
}
const auditRows = () => db.sql<AuditRow>("SELECT actor, action, target, count, address FROM audit_log ORDER BY id");

const code = async (promise: Promise<unknown>) => (await rejectionOf(promise, TRPCError)).code;

/** `n` dead letters in `topic`, rejected by group g. Returns their addresses. */
async function deadLetters(topic: string, n: number) {
  await p.deps.queue.publisher.publish(
    topic,
    Array.from({ length: n }, (_, i) => ({ id: `m${i}`, partitionKey: "k", payload: "{}" })),
  );
  const sub = p.deps.queue.subscriber.subscribe(topic, { subscriberName: "t", consumerGroup: "g", pollIntervalMs: 10 });
  await take(sub, n, (d: Delivery) => d.reject("bad"));
  await sub.close();
  const page = await p.deps.queue.inspect.listDlq({ topic: `${topic}_dlq` }, { limit: 100 });
  return page.rows.map((r) => ({ topic: `${topic}_dlq`, partitionKey: r.partitionKey, seq: r.seq }));
}

describe("audit rows", () => {
  it("records a requeue with who, what, how many and from where", async () => {
    const [a] = await deadLetters("aud1", 1);
    if (!a) throw new Error("no dead letter");
    await caller().dlq.requeueOne(a);
    expect(await auditRows()).toEqual([
      { actor: OPERATOR.username, action: "dlq.requeue", target: JSON.stringify([a]), count: 1, address: "192.0.2.1" },
    ]);
  });

  it("writes no row when the change finds nothing to do and fails", async () => {
    const before = (await auditRows()).length;
    expect(await code(caller().dlq.requeueOne({ topic: "aud1_dlq", partitionKey: "k", seq: 999 }))).toBe("NOT_FOUND");
    expect(await auditRows()).toHaveLength(before);
  });

  it("rolls the change back with its audit row when the transaction fails after both were written", async () => {
    const addresses = await deadLetters("aud2", 3);
    const before = (await auditRows()).length;
    const actor = { name: "someone", role: "operator" as const, address: "x" };
    await expect(
      p.deps.queue.admin.requeueDeadLetters(addresses, {
        within: async (c, n) => {
          await writeAudit(c, actor, { action: "dlq.requeue", target: addresses, count: n });
          throw new Error("the commit never happens");
        },
      }),
    ).rejects.toThrow("the commit never happens");
    expect(await auditRows()).toHaveLength(before);
    expect(await p.deps.queue.inspect.countDlq({ topic: "aud2_dlq" })).toBe(3);
  });

  it("records deliver-now, bulk requeue and purge with their filters and counts", async () => {
    await p.deps.queue.publisher.publishAfter("aud3", { id: "later", partitionKey: "k", payload: "x" }, 3_600_000);
    const [deferred] = (await p.deps.queue.inspect.listDeferred({ topic: "aud3", limit: 10 })).rows;
    if (!deferred) throw new Error("no deferred message");
    const address = { topic: "aud3", partitionKey: deferred.partitionKey, seq: deferred.seq };
    await caller().deferred.deliverNow({ addresses: [address] });

    await deadLetters("aud4", 4);
    const job = await caller().dlq.requeueMatching({
      filter: { topic: "aud4_dlq" },
      ratePerSecond: 100,
      expectedCount: 4,
    });
    expect(job.total).toBe(4);
    const ended = async (id: string) =>
      until(async () => (await caller().dlq.job({ id })).state === "done", `job ${id} to finish`);
    await ended(job.id);
    await deadLetters("aud5", 2);
    // A purge whose confirmed count is stale changes nothing and writes nothing.
    const before = (await auditRows()).length;
    expect(
      await code(caller().dlq.purge({ filter: { topic: "aud5_dlq" }, expectedCount: 5, ratePerSecond: 100 })),
    ).toBe("BAD_REQUEST");
    expect(await auditRows()).toHaveLength(before);
    const purge = await caller().dlq.purge({ filter: { topic: "aud5_dlq" }, expectedCount: 2, ratePerSecond: 100 });
    await ended(purge.id);

    const rows = (await auditRows()).slice(-3);
    expect(rows.map((r) => [r.action, r.count])).toEqual([
      ["deferred.deliver-now", 1],
      ["dlq.requeue-matching", 4],
      ["dlq.purge", 2],
    ]);
    expect(JSON.parse(rows[0]?.target ?? "")).toEqual([address]);
    expect(JSON.parse(rows[1]?.target ?? "")).toEqual({ topic: "aud4_dlq", job: job.id, planned: 4, state: "done" });
    expect(JSON.parse(rows[2]?.target ?? "")).toEqual({ topic: "aud5_dlq", job: purge.id, planned: 2, state: "done" });
  });

  it("records a trigger, and a cancel only when the runner accepted it", async () => {
    const { batchId } = await caller().builds.trigger({
      queue: "main",
      base: [],
      head: [{ uris: ["github://a/b/pull/1/c"] }],
    });
    await p.deps.store.insertBuild({ id: "audit-build-1", batchId, runner: "noop", queue: "main" });
    const withRunner = (cancel: BuildRunner["cancel"]) => (): PipelineDeps => ({
      ...p.deps,
      runners: {
        forQueue: () => ({ ...p.deps.runners.forQueue("main"), cancel }),
      } as unknown as PipelineDeps["runners"],
    });
    const before = (await auditRows()).length;
    const refused = caller(
      withRunner(async () => {
        throw new Error("runner unreachable");
      }),
    ).builds.cancel({ id: "audit-build-1" });
    expect(await code(refused)).toBe("INTERNAL_SERVER_ERROR");
    expect(await auditRows()).toHaveLength(before);
    await caller(withRunner(async () => {})).builds.cancel({ id: "audit-build-1" });
    const rows = (await auditRows()).slice(-2);
    expect(rows.map((r) => r.action)).toEqual(["build.trigger", "build.cancel"]);
    expect(JSON.parse(rows[1]?.target ?? "")).toEqual({ build: "audit-build-1" });
  });

  it("lists the log newest first, filtered by user and by action", async () => {
    const all = await caller().audit.list({});
    expect(all.items.length).toBeGreaterThanOrEqual(6);
    expect(all.items[0]?.action).toBe("build.cancel");
    const purges = await caller().audit.list({ action: "dlq.purge" });
    expect(purges.items.map((r) => r.action)).toEqual(["dlq.purge"]);
    expect((await caller().audit.list({ actor: "nobody" })).items).toEqual([]);
    const firstPage = await caller().audit.list({ actor: OPERATOR.username, limit: 2 });
    expect(firstPage.items).toHaveLength(2);
    const next = await caller().audit.list({ actor: OPERATOR.username, limit: 2, cursor: firstPage.nextCursor });
    expect(next.items[0]?.id).toBeLessThan(firstPage.items[1]?.id ?? 0);
    expect((await caller().audit.actors()).actors).toEqual([OPERATOR.username]);
  });
});
