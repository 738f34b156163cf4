// The pipeline end to end on the real database, real queue and real child
// processes: build → buildsignal (poll loop) → speculate.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NoopRunner } from "@/server/buildrunner/noop";
import type { BuildID } from "@/server/buildrunner/types";
import { cancelBuild, type Pipeline, type PipelineWorker, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig, verdict } from "./helpers";

let db: TestDatabase;
let p: Pipeline;
let worker: PipelineWorker | undefined;
const POLL = { accepted: 300, running: 400 };

beforeAll(async () => {
  db = await freshDatabase("pipe");
  p = open(
    db.url,
    await pipelineConfig(
      {
        default: { kind: "noop" },
        queues: {
          slow: { kind: "command", command: "sleep 2.5; echo built" },
          broken: { kind: "command", command: "echo oops >&2; exit 3" },
          long: { kind: "command", command: "sleep 60" },
        },
      },
      POLL,
    ),
  );
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(async () => {
  await p.close();
  await db.drop();
});

const change = (n: number) => ({ uris: [`github://acme/app/pull/${n}/abc${n}`] });

function start(extra: Parameters<typeof startPipelineWorker>[1] = {}) {
  worker = startPipelineWorker(p.deps, { pollIntervalMs: 20, retryBackoffMs: () => 50, ...extra });
  return worker;
}

async function polls(buildId: string) {
  return db.sql<{ message_id: string; published_at: number; visible_after: number; metadata: string | null }>(
    "SELECT message_id, published_at, visible_after, metadata FROM queue_messages WHERE topic = 'buildsignal' AND partition_key = ? ORDER BY seq",
    [buildId],
  );
}

describe("pipeline", () => {
  it("takes a command build through accepted, running, succeeded with one live poll at a time", async () => {
    start();
    const batchId = await requestBuild(p.deps, {
      queue: "slow",
      base: [change(1)],
      head: [change(2)],
      requester: "ann",
    });
    const { batch, build } = await verdict(p, batchId);
    expect(batch.verdict).toBe("succeeded");
    expect(build.status).toBe("succeeded");
    const history = (await p.deps.store.history(build.id)).map((h) => h.status);
    expect(history).toEqual(["accepted", "running", "succeeded"]);

    const rows = await polls(build.id);
    // 2.5 s of running at one poll per 400 ms: several polls, each with its own id.
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(rows.length);
    for (let i = 1; i < rows.length; i++) {
      const prev = rows[i - 1] as (typeof rows)[number];
      const cur = rows[i] as (typeof rows)[number];
      // Each poll is published while the previous one is handled: never two live at once.
      expect(Number(cur.published_at)).toBeGreaterThanOrEqual(Number(prev.visible_after));
      // And it waits one poll delay (accepted or running) before it is due.
      const delay = Number(cur.visible_after) - Number(cur.published_at);
      expect([POLL.accepted, POLL.running]).toContain(delay);
    }
    const [b] = await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM command_builds");
    expect(Number(b?.n)).toBe(1);
  });

  it("ends failed with the exit code in the metadata", async () => {
    start();
    const batchId = await requestBuild(p.deps, { queue: "broken", base: [], head: [change(3)], requester: "ann" });
    const { batch, build } = await verdict(p, batchId);
    expect(batch.verdict).toBe("failed");
    const meta = JSON.parse(build.metadata) as Record<string, string>;
    expect(meta.exitCode).toBe("3");
    expect(meta.outputTail).toContain("oops");
  });

  it("cancels a running build: the process is gone and the verdict is cancelled", async () => {
    start();
    const batchId = await requestBuild(p.deps, { queue: "long", base: [], head: [change(4)], requester: "ann" });
    const running = await until(async () => {
      const b = await p.deps.store.getBuildForBatch(batchId);
      return b?.status === "running" ? b : undefined;
    }, "the build to run");
    // The pid stays in command_builds: the metadata viewers see carries none.
    const [cmd] = await db.sql<{ pid: number }>("SELECT pid FROM command_builds WHERE id = ?", [running.id]);
    const pid = Number(cmd?.pid);
    expect(await cancelBuild(p.deps, running.id)).toBe("requested");
    const { batch } = await verdict(p, batchId);
    expect(batch.verdict).toBe("cancelled");
    await until(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, "the build process to be gone");
    expect(await cancelBuild(p.deps, running.id)).toBe("already-finished");
  });

  it("builds a noop batch at once and keeps one build per batch when `build` is redelivered", async () => {
    start();
    const batchId = await requestBuild(p.deps, { queue: "anything", base: [], head: [change(5)], requester: "ann" });
    const { batch, build } = await verdict(p, batchId);
    expect(batch.verdict).toBe("succeeded");
    expect(build.runner).toBe("noop");
    // A second `build` message for the same batch (another occasion) finds the build and triggers nothing.
    await p.deps.queue.publisher.publish("build", {
      id: `again-${batchId}`,
      partitionKey: batchId,
      payload: JSON.stringify({ id: batchId }),
    });
    await until(async () => {
      const [r] = await db.sql<{ n: number }>(
        "SELECT COUNT(*) AS n FROM queue_deliveries d JOIN queue_messages m ON m.topic = d.topic AND m.partition_key = d.partition_key AND m.seq = d.seq WHERE m.message_id = ? AND d.state = 1",
        [`again-${batchId}`],
      );
      const [g] = await db.sql<{ watermark: number }>(
        "SELECT watermark FROM queue_group_partitions WHERE topic = 'build' AND partition_key = ?",
        [batchId],
      );
      return Number(r?.n) === 1 || Number(g?.watermark) >= 2;
    }, "the second build message to be handled");
    const [n] = await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM builds WHERE batch_id = ?", [batchId]);
    expect(Number(n?.n)).toBe(1);
  });

  it("dead-letters a malformed message with its reason and keeps working", async () => {
    start();
    await p.deps.queue.publisher.publish("build", { id: "junk", partitionKey: "junk", payload: "{not json" });
    await p.deps.queue.publisher.publish("build", {
      id: "shape",
      partitionKey: "shape",
      payload: JSON.stringify({ batch: 1 }),
    });
    const rows = await until(async () => {
      const r = await db.sql<{ message_id: string; failure_reason: string }>(
        "SELECT message_id, failure_reason FROM queue_messages WHERE topic = 'build_dlq' ORDER BY message_id",
      );
      return r.length === 2 ? r : undefined;
    }, "both malformed messages in the DLQ");
    expect(rows[0]?.failure_reason).toMatch(/^malformed payload: not JSON/);
    expect(rows[1]?.failure_reason).toMatch(/^malformed payload: /);
    const batchId = await requestBuild(p.deps, { queue: "anything", base: [], head: [change(6)], requester: "ann" });
    expect((await verdict(p, batchId)).batch.verdict).toBe("succeeded");
  });
});

describe("status errors", () => {
  /** The real noop runner, made to fail its first `failures` status calls. */
  function flaky(failures: number) {
    const inner = new NoopRunner();
    let calls = 0;
    return {
      kind: "noop",
      trigger: inner.trigger.bind(inner),
      cancel: inner.cancel.bind(inner),
      async status(id: BuildID) {
        calls++;
        if (calls <= failures) throw new Error(`runner unreachable (call ${calls})`);
        return inner.status(id);
      },
      calls: () => calls,
    };
  }

  it("retries a status that errors twice, then records the answer", async () => {
    const runner = flaky(2);
    const orig = p.deps.runners.forQueue.bind(p.deps.runners);
    p.deps.runners.forQueue = (q) => (q === "flaky2" ? runner : orig(q));
    try {
      start();
      const batchId = await requestBuild(p.deps, { queue: "flaky2", base: [], head: [change(7)], requester: "ann" });
      const { batch } = await verdict(p, batchId);
      expect(batch.verdict).toBe("succeeded");
      expect(runner.calls()).toBe(3);
      // The answer ended the run of failures.
      expect((await p.deps.store.getBuildForBatch(batchId))?.statusFailures).toBe(0);
      const [dlq] = await db.sql<{ n: number }>(
        "SELECT COUNT(*) AS n FROM queue_messages WHERE topic = 'buildsignal_dlq'",
      );
      expect(Number(dlq?.n)).toBe(0);
    } finally {
      p.deps.runners.forQueue = orig;
    }
  });

  it("ends a build failed after the queue's maxStatusFailures failed status calls in a row, without dead letters", async () => {
    const runner = flaky(Number.POSITIVE_INFINITY);
    const orig = p.deps.runners.forQueue.bind(p.deps.runners);
    p.deps.runners.forQueue = (q) => (q === "flaky" ? runner : orig(q));
    try {
      // maxAttempts 2: had a failing status been nacked, its poll would have been dead-lettered at the second call.
      start({ maxAttempts: 2 });
      const batchId = await requestBuild(p.deps, { queue: "flaky", base: [], head: [change(8)], requester: "ann" });
      const { batch, build } = await verdict(p, batchId);
      expect(batch.verdict).toBe("failed");
      expect(build.status).toBe("failed");
      // The pipeline config's default (the test's queue sets none): SLUICE_MAX_STATUS_FAILURES's 10.
      expect(runner.calls()).toBe(10);
      expect(build.statusFailures).toBe(10);
      const history = await p.deps.store.history(build.id);
      expect(history.map((h) => h.status)).toEqual(["accepted", "failed"]);
      const reason = (JSON.parse(history[1]?.metadata ?? "{}") as Record<string, string>).reason;
      expect(reason).toBe("status failed 10 times in a row; last: runner unreachable (call 10)");
      expect(JSON.parse(build.metadata)).toMatchObject({ reason });
      const [dlq] = await db.sql<{ n: number }>(
        "SELECT COUNT(*) AS n FROM queue_messages WHERE topic = 'buildsignal_dlq' AND partition_key = ?",
        [build.id],
      );
      expect(Number(dlq?.n)).toBe(0);
    } finally {
      p.deps.runners.forQueue = orig;
    }
  });
});

describe("storing builds", () => {
  it("stores builds of many batches at once without deadlocks, and keeps one build per batch", async () => {
    const batchIds = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        p.deps.store.createBatch({
          queue: "anything",
          base: [],
          head: [change(100 + i)],
          metadata: {},
          requester: "t",
        }),
      ),
    );
    const stored = await Promise.all(
      batchIds.flatMap((batchId, i) => [
        p.deps.store.insertBuild({ id: `b-${i}`, batchId, runner: "noop", queue: "anything" }),
        p.deps.store.insertBuild({ id: `b-${i}-again`, batchId, runner: "noop", queue: "anything" }),
      ]),
    );
    for (let i = 0; i < batchIds.length; i++) {
      expect(stored[2 * i]?.id).toBe(stored[2 * i + 1]?.id);
    }
    const [n] = await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM builds WHERE id LIKE 'b-%'");
    expect(Number(n?.n)).toBe(20);
  });
});
