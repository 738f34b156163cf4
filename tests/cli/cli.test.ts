// The `sluice` command run as a child process against a real database: each
// command's --json output is parsed and checked against what the library
// stored; destructive commands refuse without --yes when there is no TTY.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline, PipelineWorker } from "@/server/pipeline";
import { startPipelineWorker } from "@/server/pipeline";
import type { RunnersConfig } from "@/server/pipeline/config";
import { createQueue, type Queue } from "@/server/queue";
import { type CliRun, runSluice } from "@/tests/helpers/cli";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { take, until } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

const RUNNERS: RunnersConfig = {
  default: { kind: "noop" },
  queues: { slow: { kind: "command", command: "sleep 30" } },
};

let db: TestDatabase;
let queue: Queue;
let pipeline: Pipeline;
let worker: PipelineWorker;
let buildDir: string;

/** Runs `sluice …` with this file's database, with stdin not a terminal. */
function sluice(...args: string[]): Promise<CliRun> {
  return runSluice({ DATABASE_URL: db.url, SLUICE_RUNNERS: JSON.stringify(RUNNERS), SLUICE_BUILD_DIR: buildDir }, args);
}

/** Runs a command that must succeed and returns its parsed --json output. */
async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const r = await sluice(...args, "--json");
  if (r.code !== 0) throw new Error(`sluice ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  db = await freshDatabase("cli");
  queue = createQueue({ url: db.url });
  const config = await pipelineConfig(RUNNERS);
  buildDir = config.buildDir;
  pipeline = open(db.url, config);
  worker = startPipelineWorker(pipeline.deps, { pollIntervalMs: 20 });
  // orders: 6 messages over 2 partitions; group g acks 3 and rejects 3 (into orders_dlq).
  await queue.publisher.publish(
    "orders",
    ["ok", "bad-timeout", "ok", "bad-timeout", "ok", "bad-parse"].map((kind, i) => ({
      id: `o${i + 1}`,
      partitionKey: i % 2 === 0 ? "P1" : "P2",
      payload: JSON.stringify({ n: i + 1, kind }),
    })),
  );
  const sub = queue.subscriber.subscribe("orders", {
    subscriberName: "cli-test",
    consumerGroup: "g",
    pollIntervalMs: 10,
    closeTimeoutMs: 100,
  });
  await take(sub, 6, (d) => {
    const kind = (JSON.parse(d.message.payload.toString()) as { kind: string }).kind;
    if (kind === "bad-timeout") {
      // Reasons that differ only in a number: one failure group.
      return d.reject(`timeout after ${30_000 + Number(d.message.id.slice(1))} ms calling billing`);
    }
    if (kind === "bad-parse") return d.reject("cannot parse order");
    return d.ack();
  });
  await sub.close();
});

afterAll(async () => {
  await worker?.stop();
  await pipeline?.close();
  await queue?.close();
  await db?.drop();
});

describe("sluice CLI", () => {
  it("lists topics, messages, one message and lag", async () => {
    const [topics, messages, one, lag, parts] = await Promise.all([
      json<Array<{ topic: string; messages: { value: number }; dlq: { value: number } | null }>>("topics"),
      json<{ messages: Array<{ id: string; state: string }> }>("messages", "orders", "--group", "g", "--limit", "10"),
      json<{ id: string; payload: { kind: string; text: string } }>("message", "orders", "P1", "1"),
      json<Array<{ topic: string; group: string; lag: number }>>("lag", "orders"),
      json<Array<{ partitionKey: string; watermark: number; headSeq: number }>>("lag", "orders", "--partitions"),
    ]);
    const orders = topics.find((t) => t.topic === "orders");
    expect(orders?.messages.value).toBe(6);
    expect(orders?.dlq?.value).toBe(3);
    expect(topics.some((t) => t.topic === "orders_dlq")).toBe(true);
    expect(messages.messages).toHaveLength(6);
    // Acked ones are done; rejected ones dead (they were passed by the watermark as well).
    expect(messages.messages.map((m) => [m.id, m.state])).toEqual([
      ["o6", "dead"],
      ["o5", "done"],
      ["o4", "dead"],
      ["o3", "done"],
      ["o2", "dead"],
      ["o1", "done"],
    ]);
    expect(one.id).toBe("o1");
    expect(one.payload.kind).toBe("json");
    expect(JSON.parse(one.payload.text)).toEqual({ n: 1, kind: "ok" });
    expect(lag).toEqual([expect.objectContaining({ topic: "orders", group: "g", lag: 0 })]);
    expect(parts.map((p) => [p.partitionKey, p.watermark, p.headSeq])).toEqual([
      ["P1", 3, 3],
      ["P2", 3, 3],
    ]);
  });

  it("lists the DLQ and its failure groups, requeues one, refuses a purge without --yes, requeues and purges by filter", async () => {
    const dlq = await json<{ rows: Array<{ partitionKey: string; seq: number; id: string }>; total: number }>(
      "dlq",
      "orders_dlq",
    );
    expect(dlq.total).toBe(3);
    const filtered = await json<{ total: number }>("dlq", "orders_dlq", "--search", "billing");
    expect(filtered.total).toBe(2);
    const groups = await json<Array<{ count: number }>>("dlq-groups", "orders_dlq");
    expect(groups.map((g) => g.count)).toEqual([2, 1]);

    const parse = dlq.rows.find((r) => r.id === "o6");
    if (!parse) throw new Error("o6 is not in the DLQ");
    const one = await json<{ requeued: number }>("requeue", "orders_dlq", parse.partitionKey, String(parse.seq));
    expect(one.requeued).toBe(1);
    expect((await json<{ total: number }>("dlq", "orders_dlq")).total).toBe(2);

    const refused = await sluice("purge", "orders_dlq");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not a terminal; pass --yes/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect((await json<{ total: number }>("dlq", "orders_dlq")).total).toBe(2);

    const requeued = await json<{ kind: string; state: string; processed: number; total: number }>(
      "requeue-all",
      "orders_dlq",
      "--search",
      "o2",
      "--rate",
      "1000",
      "--yes",
    );
    expect(requeued).toMatchObject({ kind: "requeue", state: "done", processed: 1, total: 1 });

    const purged = await json<{ kind: string; state: string; processed: number }>("purge", "orders_dlq", "--yes");
    expect(purged).toMatchObject({ kind: "purge", state: "done", processed: 1 });
    expect((await json<{ total: number }>("dlq", "orders_dlq")).total).toBe(0);
    // The requeued rows are back in orders, addressed to group g.
    const back = await json<{ messages: Array<{ id: string; state: string }> }>("messages", "orders", "--group", "g");
    expect(
      back.messages
        .filter((m) => m.state === "ready")
        .map((m) => m.id)
        .sort(),
    ).toEqual(["o2", "o6"]);
  });

  it("shows leases, resets an offset and releases a lease", async () => {
    const leases = await json<{ subscribers: unknown[]; leases: unknown[] }>("leases", "orders");
    expect(leases.leases).toEqual([]);
    const refused = await sluice("reset-offset", "g", "orders", "P1", "--to", "1");
    expect(refused.code).toBe(1);
    const reset = await json<{ previousWatermark: number; watermark: number; clearedDeliveries: number }>(
      "reset-offset",
      "g",
      "orders",
      "P1",
      "--to",
      "1",
      "--yes",
    );
    expect(reset).toMatchObject({ previousWatermark: 3, watermark: 1 });
    const parts = await json<Array<{ partitionKey: string; watermark: number }>>("lag", "orders", "--partitions");
    expect(parts.find((p) => p.partitionKey === "P1")?.watermark).toBe(1);
    const released = await json<{ previousOwner: string | null }>("release-lease", "g", "orders", "P1", "--yes");
    expect(released.previousOwner).toBeNull();
    const past = await sluice("reset-offset", "g", "orders", "P1", "--to", "99", "--yes");
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/past the head/);
  });

  it("triggers, lists, shows and cancels builds", async () => {
    const { batchId, requester } = await json<{ batchId: string; requester: string }>(
      "trigger",
      "app",
      "--head",
      "github://acme/app/pull/1/abc",
      "--meta",
      "ticket=42",
    );
    expect(requester).toMatch(/^cli:/);
    const build = await until(() => pipeline.deps.store.getBuildForBatch(batchId), "the noop build");
    const list = await json<{ rows: Array<{ id: string; queue: string }> }>("builds", "--queue", "app");
    expect(list.rows.map((r) => r.id)).toContain(build.id);
    const detail = await json<{
      build: { id: string };
      batch: { requester: string; metadata: Record<string, string> };
    }>("build", build.id);
    expect(detail.batch.requester).toBe(requester);
    expect(detail.batch.metadata).toEqual({ ticket: "42" });

    const slow = await json<{ batchId: string }>("trigger", "slow", "--head", "github://acme/app/pull/2/def");
    const slowBuild = await until(() => pipeline.deps.store.getBuildForBatch(slow.batchId), "the slow build");
    const cancelled = await json<{ result: string }>("cancel", slowBuild.id, "--yes");
    expect(cancelled.result).toBe("requested");
    await until(
      async () => (await pipeline.deps.store.getBuild(slowBuild.id))?.status === "cancelled",
      "the slow build to be cancelled",
      20_000,
    );
  });

  it("exits 2 with one line for a bad argument or an unknown command", async () => {
    for (const args of [["messages", "orders", "--limit", "lots"], ["frobnicate"], ["builds", "--status", "weird"]]) {
      const r = await sluice(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
    for (const args of [
      ["lag", "no-such-topic"],
      ["leases", "no-such-topic"],
    ]) {
      const r = await sluice(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no topic no-such-topic/);
    }
    const badTrigger = await sluice("trigger", "app", "--head", "not a uri");
    expect(badTrigger.code).toBe(2);
    expect(badTrigger.stderr).toMatch(/is not a URI/);
  });

  it("left an audit row, as cli:<os user>, for every change it made", async () => {
    const rows = await db.sql<{ actor: string; action: string }>("SELECT actor, action FROM audit_log ORDER BY id");
    expect(new Set(rows.map((r) => r.action))).toEqual(
      new Set([
        "dlq.requeue",
        "dlq.requeue-matching",
        "dlq.purge",
        "queue.reset-offset",
        "queue.release-lease",
        "build.trigger",
        "build.cancel",
      ]),
    );
    expect(rows.every((r) => r.actor.startsWith("cli:"))).toBe(true);
  });
});
