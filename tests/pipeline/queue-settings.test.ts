// Per-queue settings in SLUICE_RUNNERS on the real database and queue: the
// slower poll of a build that waits on a person, the fallback sweep of build
// slots, and a cap on concurrent builds held by two real worker processes
// (batches beyond it wait, visibly, and start as soon as a slot frees).
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoopRunner } from "@/server/buildrunner/noop";
import { type BuildID, WAITING_FOR } from "@/server/buildrunner/types";
import { type Pipeline, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { type PipelineConfig, queueSettings, runnersConfigSchema } from "@/server/pipeline/config";
import { handOverFreeSlots } from "@/server/pipeline/controllers";
import { getBatchProgress, listWaitingBatches } from "@/server/pipeline/reads";
import { occasionId } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig, verdict } from "./helpers";

let db: TestDatabase;
let config: PipelineConfig;
let p: Pipeline;
let logFile: string;
const children: ChildProcess[] = [];
const CAP = 2;

beforeAll(async () => {
  db = await freshDatabase("slots");
  const base = await pipelineConfig({ queues: {} });
  logFile = path.join(base.buildDir, "capped.log");
  config = await pipelineConfig(
    {
      queues: {
        capped: {
          kind: "command",
          command: 'echo "start $(date +%s%N)" >> "$CAPPED_LOG"; sleep 1; echo "end $(date +%s%N)" >> "$CAPPED_LOG"',
          env: { CAPPED_LOG: logFile },
          maxConcurrentBuilds: CAP,
          pollRunningMs: 100,
        },
        swept: { kind: "noop", maxConcurrentBuilds: 2 },
        blocked: { kind: "noop", pollWaitingMs: 5_000, pollRunningMs: 150, pollAcceptedMs: 120 },
      },
    },
    { accepted: 300, running: 400 },
  );
  p = open(db.url, config);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await p.close();
  await db.drop();
});

async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/fixtures/pipeline-worker.ts", db.url, JSON.stringify(config)],
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}

const change = (n: number) => ({ uris: [`github://acme/app/pull/${n}/abc${n}`] });

describe("settings", () => {
  it("validates the per-queue fields and fills in the global defaults", () => {
    const bad = runnersConfigSchema.safeParse({ queues: { q: { kind: "noop", maxConcurrentBuilds: 0 } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["queues", "q", "maxConcurrentBuilds"]);
    expect(runnersConfigSchema.safeParse({ queues: { q: { kind: "noop", pollWaitingMs: 5 } } }).success).toBe(false);
    expect(runnersConfigSchema.safeParse({ queues: { q: { kind: "noop", pollRunningMs: "1" } } }).success).toBe(false);
    expect(queueSettings(config, "blocked")).toEqual({
      poll: { accepted: 120, running: 150, waiting: 5_000 },
      maxConcurrentBuilds: undefined,
      maxStatusFailures: 10,
    });
    // A queue that sets nothing: the global delays, 30 s for waiting builds.
    expect(queueSettings(config, "swept").poll).toEqual({ accepted: 300, running: 400, waiting: 30_000 });
  });
});

describe("waiting builds", () => {
  it("polls a build waiting on a person at the queue's waiting delay, and a running one at its running delay", async () => {
    const inner = new NoopRunner();
    let waiting = true;
    const runner = {
      kind: "noop",
      trigger: inner.trigger.bind(inner),
      cancel: inner.cancel.bind(inner),
      async status(_id: BuildID) {
        return {
          status: "running" as const,
          metadata: waiting ? { [WAITING_FOR]: "a block step" } : ({} as Record<string, string>),
        };
      },
    };
    const orig = p.deps.runners.forQueue.bind(p.deps.runners);
    p.deps.runners.forQueue = (q) => (q === "blocked" ? runner : orig(q));
    const worker = startPipelineWorker(p.deps, { pollIntervalMs: 20 });
    try {
      const batchId = await requestBuild(p.deps, { queue: "blocked", base: [], head: [change(1)], requester: "ann" });
      const build = await until(async () => {
        const b = await p.deps.store.getBuildForBatch(batchId);
        return b && b.statusCalls > 0 ? b : undefined;
      }, "the first poll");
      const delays = async () =>
        (
          await db.sql<{ d: number }>(
            "SELECT CAST(visible_after AS SIGNED) - CAST(published_at AS SIGNED) AS d FROM queue_messages WHERE topic = 'buildsignal' AND partition_key = ? AND message_id LIKE 'poll:%' ORDER BY seq",
            [build.id],
          )
        ).map((r) => Number(r.d));
      // The poll the first one scheduled waits the queue's pollWaitingMs, not its running 150 ms.
      const scheduled = await until(async () => {
        const ds = await delays();
        return ds.length >= 2 ? ds : undefined;
      }, "a second poll");
      expect(scheduled).toHaveLength(2);
      expect(scheduled[1]).toBe(5_000);
      expect(JSON.parse((await p.deps.store.getBuild(build.id))?.metadata ?? "{}")).toMatchObject({
        [WAITING_FOR]: "a block step",
      });
      expect((await p.deps.store.listBuilds({ queue: "blocked", limit: 5 })).rows[0]?.waitingFor).toBe("a block step");
      // Unblocked: a push (as a webhook would send) records it, and the next poll after that is the running one.
      waiting = false;
      await p.deps.queue.publisher.publish("buildsignal", {
        id: occasionId("push", build.id, "unblocked"),
        partitionKey: build.id,
        payload: JSON.stringify({ id: build.id }),
      });
      await until(async () => {
        const b = await p.deps.store.getBuild(build.id);
        return b && !JSON.parse(b.metadata)[WAITING_FOR];
      }, "the unblocked status");
      expect((await p.deps.store.listBuilds({ queue: "blocked", limit: 5 })).rows[0]?.waitingFor).toBeNull();
      // The push recorded it without scheduling: the waiting poll stays the live one, and once it has run
      // (5 s after it was scheduled) the poll it schedules waits the running delay.
      const next = await until(
        async () => {
          const ds = await delays();
          return ds.length >= 3 ? ds : undefined;
        },
        "the poll after the waiting one",
        10_000,
        100,
      );
      expect(next[2]).toBe(150);
    } finally {
      await worker.stop();
      p.deps.runners.forQueue = orig;
    }
  });
});

describe("build slots", () => {
  it("the sweep hands a free slot to the oldest waiting batch, and the console shows the others' place in line", async () => {
    const mk = (n: number) =>
      p.deps.store.createBatch({ queue: "swept", base: [], head: [change(n)], metadata: {}, requester: "ann" });
    const holding = await mk(10);
    const first = await mk(11);
    const second = await mk(12);
    // One slot of two is held; two batches wait whose hand-over message was lost.
    await db.sql("UPDATE batches SET state = 'building' WHERE id = ?", [holding]);
    await db.sql("UPDATE batches SET state = 'waiting', created_at = created_at + ? WHERE id IN (?, ?)", [
      0,
      first,
      second,
    ]);
    await db.sql("UPDATE batches SET created_at = created_at + 1 WHERE id = ?", [second]);
    expect((await getBatchProgress(p.deps, second)).slots).toEqual({ cap: 2, inUse: 1, waiting: 2, position: 2 });
    expect((await listWaitingBatches(p.deps, 10)).map((b) => [b.id, b.position, b.cap])).toEqual([
      [first, 1, 2],
      [second, 2, 2],
    ]);

    expect(await handOverFreeSlots(p.deps)).toBe(1);
    expect((await p.deps.store.getBatch(first))?.state).toBe("building");
    expect((await getBatchProgress(p.deps, second)).slots).toEqual({ cap: 2, inUse: 2, waiting: 1, position: 1 });
    const msgs = await db.sql<{ message_id: string }>(
      "SELECT message_id FROM queue_messages WHERE topic = 'build' AND partition_key = ?",
      [first],
    );
    expect(msgs.map((m) => m.message_id)).toEqual([occasionId("build", first, "slot")]);
    // No free slot: the sweep changes nothing.
    expect(await handOverFreeSlots(p.deps)).toBe(0);
    expect((await p.deps.store.getBatch(second))?.state).toBe("waiting");
    await db.sql("UPDATE batches SET state = 'done' WHERE queue = 'swept'");
  });

  it("never runs more than maxConcurrentBuilds with two worker processes, and starts a waiting batch when a slot frees", async () => {
    await Promise.all([startWorkerProcess(), startWorkerProcess()]);
    const started = Date.now();
    const batchIds = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        requestBuild(p.deps, { queue: "capped", base: [], head: [change(100 + i)], requester: "ann" }),
      ),
    );
    let maxBuilding = 0;
    let sawWaiting = false;
    let sawPosition = false;
    await until(
      async () => {
        const [row] = await db.sql<{ building: number; waiting: number; done: number }>(
          "SELECT SUM(state = 'building') AS building, SUM(state = 'waiting') AS waiting, SUM(state = 'done') AS done FROM batches WHERE queue = 'capped'",
        );
        maxBuilding = Math.max(maxBuilding, Number(row?.building ?? 0));
        if (Number(row?.waiting ?? 0) > 0) {
          sawWaiting = true;
          const waiting = await listWaitingBatches(p.deps, 10);
          const next = waiting.find((b) => b.queue === "capped");
          if (next) {
            const progress = await getBatchProgress(p.deps, next.id);
            if (progress.batch.state === "waiting" && progress.slots?.position === 1) sawPosition = true;
          }
        }
        return Number(row?.done ?? 0) === batchIds.length;
      },
      "every capped batch to finish",
      60_000,
      50,
    );
    // Well before the maintenance sweep's first run (30 s): hand-overs started the waiting batches.
    expect(Date.now() - started).toBeLessThan(25_000);
    for (const id of batchIds) expect((await verdict(p, id)).batch.verdict).toBe("succeeded");
    expect(maxBuilding).toBeLessThanOrEqual(CAP);
    expect(sawWaiting).toBe(true);
    expect(sawPosition).toBe(true);

    // The processes themselves: never more than CAP at once, and the cap was used.
    const events = (await readFile(logFile, "utf8"))
      .trim()
      .split("\n")
      .map((l) => l.split(" "))
      .map(([kind, ns]) => ({ kind, at: BigInt(ns ?? "0") }))
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind === "end" ? -1 : 1));
    expect(events.filter((e) => e.kind === "start")).toHaveLength(batchIds.length);
    let running = 0;
    let peak = 0;
    for (const e of events) {
      running += e.kind === "start" ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(CAP);
  });
});
