// The builds router on a fresh database with a real pipeline and worker:
// procedures called in-process (appRouter.createCaller, with the test's
// pipeline in the context) and over the fetch adapter for the wire format
// the console's form reads (status codes, zod field errors, hidden details).
import { TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@/server/log";
import { type Pipeline, type PipelineWorker, startPipelineWorker } from "@/server/pipeline";
import type { PipelineDeps } from "@/server/pipeline/deps";
import type { Context } from "@/server/trpc/context";
import { INTERNAL_ERROR_MESSAGE, isReported } from "@/server/trpc/errors";
import { appRouter } from "@/server/trpc/router";
import { contextAs, OPERATOR } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;
let worker: PipelineWorker;

beforeAll(async () => {
  db = await freshDatabase("trpc");
  // No default runner: a queue not listed here cannot be built.
  p = open(
    db.url,
    await pipelineConfig(
      {
        queues: {
          ok: { kind: "command", command: "sleep 1; echo built" },
          fail: { kind: "command", command: "echo boom; exit 3" },
          long: { kind: "command", command: "sleep 60" },
          instant: { kind: "noop" },
          // One build at a time: the second batch waits for the first's slot.
          single: { kind: "command", command: "sleep 60", maxConcurrentBuilds: 1 },
        },
      },
      { accepted: 100, running: 150 },
    ),
  );
  worker = startPipelineWorker(p.deps, { pollIntervalMs: 20, retryBackoffMs: () => 50 });
});
afterAll(async () => {
  await worker?.stop();
  await p?.close();
  await db?.drop();
});

function caller(pipeline: () => PipelineDeps = () => p.deps) {
  return appRouter.createCaller(contextAs(pipeline));
}

const change = (n: number) => ({ uris: [`github://acme/app/pull/${n}/abc${n}`] });

async function count(table: "batches" | "builds") {
  const [row] = await db.sql<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n);
}

/** The build of a batch, once the worker has triggered it. */
async function buildOf(batchId: string) {
  return until(async () => (await caller().builds.batch({ batchId })).buildId, `a build for batch ${batchId}`);
}

async function finished(id: string) {
  return until(async () => {
    const d = await caller().builds.get({ id });
    return d.build.terminal ? d : undefined;
  }, `build ${id} to finish`);
}

const rejection = (promise: Promise<unknown>) => rejectionOf(promise, TRPCError);

describe("builds.queues", () => {
  it("lists the configured queues with their runner kind", async () => {
    expect(await caller().builds.queues()).toEqual({
      queues: [
        { name: "fail", kind: "command" },
        { name: "instant", kind: "noop" },
        { name: "long", kind: "command" },
        { name: "ok", kind: "command" },
        { name: "single", kind: "command" },
      ],
      defaultKind: null,
    });
  });
});

describe("builds.trigger and builds.get", () => {
  it("requests a build that goes accepted, running, succeeded, with its batch and history", async () => {
    const { batchId } = await caller().builds.trigger({
      queue: "ok",
      base: [change(1)],
      head: [change(2), { uris: ["github://acme/app/pull/3/abc3", "github://acme/lib/pull/9/def9"] }],
      metadata: { ticket: "OPS-1" },
    });
    const id = await buildOf(batchId);
    const detail = await finished(id);
    expect(detail.build).toMatchObject({ id, batchId, queue: "ok", runner: "command", status: "succeeded" });
    expect(detail.build.metadata.exitCode).toBe("0");
    expect(detail.build.duration).toBeGreaterThanOrEqual(1000);
    expect(detail.history.map((h) => h.status)).toEqual(["accepted", "running", "succeeded"]);
    expect(detail.batch).toMatchObject({
      id: batchId,
      requester: OPERATOR.username,
      base: [change(1)],
      head: [change(2), { uris: ["github://acme/app/pull/3/abc3", "github://acme/lib/pull/9/def9"] }],
      metadata: { ticket: "OPS-1" },
    });
    // speculate records the verdict just after the build finishes.
    await until(async () => (await caller().builds.get({ id })).batch?.verdict === "succeeded", "the verdict");
  });

  it("shows a failed build's exit code and output", async () => {
    const { batchId } = await caller().builds.trigger({ queue: "fail", head: [change(4)] });
    const detail = await finished(await buildOf(batchId));
    expect(detail.build.status).toBe("failed");
    expect(detail.build.metadata.exitCode).toBe("3");
    expect(detail.build.metadata.outputTail).toContain("boom");
  });

  it("rejects invalid input with field errors and stores nothing", async () => {
    const before = await count("batches");
    const err = await rejection(
      caller().builds.trigger({
        queue: "",
        base: [{ uris: ["not a uri"] }],
        head: [],
        metadata: { "sluice.idempotencyKey": "x" },
      }),
    );
    expect(err.code).toBe("BAD_REQUEST");
    for (const bad of [
      { queue: "bad queue!", head: [change(1)] },
      { queue: "x".repeat(192), head: [change(1)] },
      { queue: "ok", head: [{ uris: [`github://${"a".repeat(2048)}`] }] },
      { queue: "ok", head: [{ uris: [] }] },
      { queue: "ok", head: Array.from({ length: 51 }, (_, i) => change(i)) },
      { queue: "ok", head: [{ uris: Array.from({ length: 51 }, (_, i) => `github://a/b/pull/${i}/c`) }] },
      {
        queue: "ok",
        head: [change(1)],
        metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"])),
      },
      { queue: "ok", head: [change(1)], metadata: { ["k".repeat(101)]: "v" } },
      { queue: "ok", head: [change(1)], metadata: { k: "v".repeat(1001) } },
      { queue: "ok", head: [change(1)], extra: 1 },
    ]) {
      const e = await rejection(caller().builds.trigger(bad as never));
      expect(e.code, JSON.stringify(bad).slice(0, 80)).toBe("BAD_REQUEST");
    }
    expect(await count("batches")).toBe(before);
  });

  it("refuses a queue no runner is configured for, as the caller's mistake", async () => {
    const before = await count("batches");
    const err = await rejection(caller().builds.trigger({ queue: "elsewhere", head: [change(5)] }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(err.message).toMatch(/no runner is configured for queue "elsewhere"/);
    expect(await count("batches")).toBe(before);
  });

  it("answers NOT_FOUND for an unknown build or batch", async () => {
    expect((await rejection(caller().builds.get({ id: "cmd-nope" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller().builds.batch({ batchId: "nope" }))).code).toBe("NOT_FOUND");
    expect((await rejection(caller().builds.cancel({ id: "cmd-nope" }))).code).toBe("NOT_FOUND");
  });
});

describe("builds.batch and builds.waiting on a capped queue", () => {
  it("shows a batch beyond maxConcurrentBuilds waiting, with its place, until the running build's slot frees", async () => {
    const first = await caller().builds.trigger({ queue: "single", head: [change(60)] });
    const firstBuild = await buildOf(first.batchId);
    const second = await caller().builds.trigger({ queue: "single", head: [change(61)] });
    const waiting = await until(async () => {
      const b = await caller().builds.batch({ batchId: second.batchId });
      return b.batch.state === "waiting" ? b : undefined;
    }, "the second batch to wait for a slot");
    expect(waiting.buildId).toBeNull();
    expect(waiting.slots).toEqual({ cap: 1, inUse: 1, waiting: 1, position: 1 });
    expect((await caller().builds.batch({ batchId: first.batchId })).slots).toBeNull();
    const listed = await caller().builds.waiting({});
    expect(listed.items).toEqual([
      expect.objectContaining({
        id: second.batchId,
        queue: "single",
        position: 1,
        cap: 1,
        requester: OPERATOR.username,
      }),
    ]);
    expect((await rejection(caller().builds.waiting({ limit: 0 }))).code).toBe("BAD_REQUEST");

    // The first build ends (cancelled): its slot goes to the waiting batch, whose build then starts.
    await caller().builds.cancel({ id: firstBuild });
    const secondBuild = await buildOf(second.batchId);
    expect((await caller().builds.waiting({})).items).toEqual([]);
    await caller().builds.cancel({ id: secondBuild });
    await finished(secondBuild);
  });
});

describe("builds.cancel", () => {
  it("cancels a running build, then says it had finished", async () => {
    const { batchId } = await caller().builds.trigger({ queue: "long", head: [change(6)] });
    const id = await buildOf(batchId);
    await until(async () => (await caller().builds.get({ id })).build.status === "running", "the build to run");
    expect(await caller().builds.cancel({ id })).toEqual({ result: "requested" });
    const detail = await finished(id);
    expect(detail.build.status).toBe("cancelled");
    expect(detail.history.map((h) => h.status)).toEqual(["accepted", "running", "cancelled"]);
    expect(await caller().builds.cancel({ id })).toEqual({ result: "already-finished" });
  });
});

describe("builds.list", () => {
  it("pages newest first by keyset, without repeats or gaps, and filters by queue and status", async () => {
    // Rows made straight in the store (no runner): several share a created_at ms, so the id breaks ties.
    const made: string[] = [];
    for (let i = 0; i < 7; i++) {
      const batchId = await p.deps.store.createBatch({
        queue: "paging",
        base: [],
        head: [change(100 + i)],
        metadata: {},
        requester: "test",
      });
      const build = await p.deps.store.insertBuild({ id: `page-${i}`, batchId, runner: "noop", queue: "paging" });
      made.push(build.id);
      if (i % 2 === 0) await p.deps.store.recordStatus(build.id, "succeeded", {});
    }
    const seen: string[] = [];
    let cursor: { createdAt: number; id: string } | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const page = await caller().builds.list({ queue: "paging", cursor, limit: 3 });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((b) => b.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen.toSorted()).toEqual(made.toSorted());
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await caller().builds.list({ queue: "paging", limit: 200 })).items;
    expect(all.map((b) => b.id)).toEqual(seen);
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1], all[i]] as [(typeof all)[number], (typeof all)[number]];
      expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
    }
    const first = all[0];
    expect(first).toMatchObject({ queue: "paging", runner: "noop" });
    expect(Object.keys(first ?? {}).toSorted()).toEqual(
      ["batchId", "createdAt", "duration", "finishedAt", "id", "queue", "runner", "status", "waitingFor"].toSorted(),
    );

    const succeeded = await caller().builds.list({ queue: "paging", status: "succeeded", limit: 200 });
    expect(succeeded.items.map((b) => b.id).toSorted()).toEqual(["page-0", "page-2", "page-4", "page-6"]);
    expect(succeeded.items.every((b) => b.finishedAt !== null && b.duration >= 0)).toBe(true);
    const accepted = await caller().builds.list({ queue: "paging", status: "accepted", limit: 200 });
    expect(accepted.items.map((b) => b.id).toSorted()).toEqual(["page-1", "page-3", "page-5"]);
    expect((await caller().builds.list({ queue: "nowhere", limit: 10 })).items).toEqual([]);
  });

  it("bounds the page size and validates the filters", async () => {
    for (const bad of [{ limit: 0 }, { limit: 201 }, { queue: "" }, { queue: "a b" }, { status: "done" }]) {
      expect((await rejection(caller().builds.list(bad as never))).code).toBe("BAD_REQUEST");
    }
  });
});

describe("over HTTP", () => {
  let reported: boolean[] = [];

  async function post(path: string, input: unknown, ctx: Partial<Context> = {}) {
    reported = [];
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request(`http://localhost/api/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(superjson.serialize(input)),
      }),
      router: appRouter,
      createContext: async (): Promise<Context> => ({ ...contextAs(() => p.deps, OPERATOR, "http"), ...ctx }),
      // What the route handler's onError sees: whether the middleware logged it already.
      onError: ({ error }) => reported.push(isReported(error)),
    });
    const body = (await res.json()) as { error?: { json: { message: string; data: Record<string, unknown> } } };
    return { status: res.status, error: body.error?.json };
  }

  it("sends zod errors by field, for the form to show beside each field", async () => {
    const { status, error } = await post("builds.trigger", {
      queue: "",
      base: [{ uris: ["github://ok/1"] }],
      head: [{ uris: ["nope"] }],
      metadata: { "": "v" },
    });
    expect(status).toBe(400);
    expect(error?.data.code).toBe("BAD_REQUEST");
    const fields = (error?.data.zodError as { fieldErrors: Record<string, string[]> } | undefined)?.fieldErrors ?? {};
    expect(fields.queue).toEqual(["Enter a queue name."]);
    expect(fields.head).toEqual(['"nope" is not a URI like github://org/repo/pull/123/<sha>.']);
    expect(fields.metadata).toEqual(["A metadata key cannot be empty."]);
    expect(fields.base).toBeUndefined();
  });

  it("maps library errors to their codes and hides everything else behind a generic message", async () => {
    const unknown = await post("builds.cancel", { id: "cmd-nope" });
    expect(unknown.status).toBe(404);
    expect(unknown.error?.message).toBe("unknown build cmd-nope");
    expect(unknown.error?.data.zodError).toBeNull();

    const logged: string[] = [];
    const broken = await post(
      "builds.trigger",
      { queue: "ok", head: [change(1)] },
      {
        pipeline: () => {
          throw new Error("connect ECONNREFUSED mysql://root:secret@db.internal:3306");
        },
        log: createLogger({}, (line) => logged.push(line)),
      },
    );
    expect(broken.status).toBe(500);
    expect(broken.error?.message).toBe(INTERNAL_ERROR_MESSAGE);
    expect(JSON.stringify(broken.error)).not.toContain("secret");
    // The detail is for the operator's log, with the procedure it came from, and logged once.
    expect(reported).toEqual([true]);
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0] ?? "{}")).toMatchObject({
      level: "error",
      path: "builds.trigger",
      reason: "connect ECONNREFUSED mysql://root:secret@db.internal:3306",
    });
  });
});
