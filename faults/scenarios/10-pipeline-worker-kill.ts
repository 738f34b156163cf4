// Pipeline workers SIGKILLed at random moments while command builds are
// requested, triggered, run and polled. Every build must still reach a
// terminal status and its batch a verdict, no build may be triggered or its
// command started twice, and no build may keep polling once it has ended.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { openUtcPool } from "../../db/client";
import { type BuildStatus, isTerminal } from "../../server/buildrunner/types";
import { silentLogger } from "../../server/log";
import { openPipeline, requestBuild } from "../../server/pipeline";
import type { PipelineConfig } from "../../server/pipeline/config";
import { PIPELINE_GROUP, TOPICS } from "../../server/pipeline/topics";
import { PipelineWorkers } from "../support/pipeline-workers";
import { pause, until } from "../support/until";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../types";

const WORKERS = 2;
const POLL = { accepted: 300, running: 400 };
/** How long every build may take to finish after the traffic stops (builds queue up behind the kills). */
const FINISH_TIMEOUT_MS = 60_000;
/** How long the poll loops of finished builds may take to run out (delayed polls still in the queue). */
const QUIET_TIMEOUT_MS = 20_000;

async function run(opts: ScenarioOptions): Promise<ScenarioResult> {
  const began = performance.now();
  const log = opts.log ?? (() => {});
  const problems: string[] = [];
  const buildDir = await mkdtemp(path.join(tmpdir(), "sluice-kill-"));
  // Each start appends to a marker next to build.json: two lines mean the command ran twice.
  const command = (exit: number) => `echo started >> "$SLUICE_BUILD_FILE.runs"; sleep 1; echo built; exit ${exit}`;
  const config: PipelineConfig = {
    runners: {
      queues: { pass: { kind: "command", command: command(0) }, fail: { kind: "command", command: command(3) } },
    },
    pollDelayMs: POLL,
    buildDir,
  };
  const pipeline = openPipeline(opts.databaseUrl, config, silentLogger);
  const sql = openUtcPool(opts.databaseUrl, { connectionLimit: 2 });
  const query = async <T>(statement: string, params: unknown[] = []) => (await sql.query(statement, params))[0] as T[];
  const workers = new PipelineWorkers(opts.databaseUrl, config);
  const batchIds: string[] = [];
  let kills = 0;
  try {
    for (let i = 0; i < WORKERS; i++) await workers.start();

    let trafficOver = false;
    const killer = (async () => {
      while (!trafficOver) {
        await pause(300 + Math.random() * 1_200);
        if (trafficOver) break;
        const victims = workers.running;
        const victim = victims[Math.floor(Math.random() * victims.length)];
        if (!victim) continue;
        await workers.kill(victim);
        kills++;
        await workers.start();
      }
    })().catch((err: unknown) => {
      // Reported, not thrown: the traffic loop is not awaiting the killer yet.
      problems.push(`restarting a killed worker failed: ${err instanceof Error ? err.message : String(err)}`);
      trafficOver = true;
    });

    const trafficStart = performance.now();
    let n = 0;
    while (performance.now() - trafficStart < opts.durationMs) {
      batchIds.push(
        await requestBuild(pipeline.deps, {
          queue: n % 4 === 3 ? "fail" : "pass",
          base: [],
          head: [{ uris: [`github://faults/kill/pull/${n}/head`] }],
          requester: "faults",
        }),
      );
      n++;
      await pause(200 + Math.random() * 400);
    }
    trafficOver = true;
    await killer;
    while (workers.running.length < WORKERS) await workers.start();
    log(`requested ${batchIds.length} builds, ${kills} worker kills; waiting for verdicts`);

    const store = pipeline.deps.store;
    await until(
      async () => {
        for (const id of batchIds) if ((await store.getBatch(id))?.state !== "done") return false;
        return true;
      },
      FINISH_TIMEOUT_MS,
      200,
    );
    log(`every batch had its verdict ${Math.round(performance.now() - began)} ms after the start`);

    let terminal = 0;
    let twice = 0;
    const finished: string[] = [];
    for (const batchId of batchIds) {
      const batch = await store.getBatch(batchId);
      const build = await store.getBuildForBatch(batchId);
      if (!build || !isTerminal(build.status as BuildStatus)) {
        problems.push(`batch ${batchId}: build ${build?.id ?? "(none)"} is ${build?.status ?? "not triggered"}`);
        continue;
      }
      if (batch?.state !== "done" || batch.verdict !== build.status) {
        problems.push(`batch ${batchId}: build ${build.status} but batch ${batch?.state}/${batch?.verdict}`);
        continue;
      }
      terminal++;
      finished.push(build.id);
      // A crash must not change the outcome: the command decides it (exit 0 or 3), not the worker's death.
      const reason = (JSON.parse(build.metadata) as Record<string, string>).reason;
      if (batch.queue === "pass" ? build.status !== "succeeded" : reason !== "exited with code 3")
        problems.push(`batch ${batchId} on queue ${batch.queue} ended ${build.status}: ${reason}`);
      const cmd = await query<{ id: string; work_dir: string }>(
        "SELECT id, work_dir FROM command_builds WHERE idempotency_key = ?",
        [`batch:${batchId}`],
      );
      const runs = await readRuns(cmd[0]?.work_dir);
      if (cmd.length !== 1 || cmd[0]?.id !== build.id || runs > 1) {
        twice++;
        problems.push(
          `batch ${batchId}: ${cmd.length} command builds, command started ${runs} times (build ${build.id})`,
        );
      }
    }

    // A finished build's poll loop must run out: every buildsignal message of
    // its partition finished for the group, and nothing new published.
    const quiet = await until(async () => (await unfinishedPolls(query, finished)).length === 0, QUIET_TIMEOUT_MS, 100);
    if (!quiet) {
      const left = await unfinishedPolls(query, finished);
      problems.push(
        `${left.length} buildsignal messages of finished builds were never finished, e.g. ${left.slice(0, 3).join(", ")}`,
      );
    }
    const heads = await partitionHeads(query, finished);
    const calls = await statusCalls(query, finished);
    // Longer than the slowest poll delay a few times over: a live loop would publish again in this window.
    await pause(3 * Math.max(POLL.accepted, POLL.running));
    const headsAfter = await partitionHeads(query, finished);
    const callsAfter = await statusCalls(query, finished);
    for (const id of finished) {
      if (headsAfter.get(id) !== heads.get(id))
        problems.push(`build ${id} was polled again after it finished (head ${heads.get(id)} → ${headsAfter.get(id)})`);
      if (callsAfter.get(id) !== calls.get(id)) problems.push(`build ${id} had its status asked after it finished`);
    }

    return {
      scenario: scenario.name,
      published: batchIds.length,
      delivered: terminal,
      lost: batchIds.length - terminal,
      unexpected: 0,
      duplicated: twice,
      orderViolations: 0,
      allowedDuplicates: 0,
      faults: kills,
      ok: problems.length === 0,
      problems,
      durationMs: Math.round(performance.now() - began),
    };
  } finally {
    await workers.killAll();
    await pipeline.close();
    await sql.end();
    await rm(buildDir, { recursive: true, force: true });
  }
}

async function readRuns(workDir: string | undefined): Promise<number> {
  if (!workDir) return 0;
  try {
    return (await readFile(path.join(workDir, "build.json.runs"), "utf8")).trim().split("\n").length;
  } catch {
    return 0;
  }
}

type Query = <T>(statement: string, params?: unknown[]) => Promise<T[]>;

/** Messages of these builds' buildsignal partitions that the pipeline group has not acked or dead-lettered. */
async function unfinishedPolls(query: Query, buildIds: string[]): Promise<string[]> {
  if (buildIds.length === 0) return [];
  const rows = await query<{ partition_key: string; message_id: string }>(
    `SELECT m.partition_key, m.message_id FROM queue_messages m
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = ? AND g.topic = m.topic AND g.partition_key = m.partition_key
     LEFT JOIN queue_deliveries d
       ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     WHERE m.topic = ? AND m.partition_key IN (?) AND m.seq > COALESCE(g.watermark, 0)
       AND (d.seq IS NULL OR d.state = 0)`,
    [PIPELINE_GROUP, PIPELINE_GROUP, TOPICS.buildsignal, buildIds],
  );
  return rows.map((r) => `${r.partition_key}/${r.message_id}`);
}

async function partitionHeads(query: Query, buildIds: string[]): Promise<Map<string, number>> {
  if (buildIds.length === 0) return new Map();
  const rows = await query<{ partition_key: string; head_seq: number }>(
    "SELECT partition_key, head_seq FROM queue_partitions WHERE topic = ? AND partition_key IN (?)",
    [TOPICS.buildsignal, buildIds],
  );
  return new Map(rows.map((r) => [r.partition_key, Number(r.head_seq)]));
}

async function statusCalls(query: Query, buildIds: string[]): Promise<Map<string, number>> {
  if (buildIds.length === 0) return new Map();
  const rows = await query<{ id: string; status_calls: number }>(
    "SELECT id, status_calls FROM builds WHERE id IN (?)",
    [buildIds],
  );
  return new Map(rows.map((r) => [r.id, Number(r.status_calls)]));
}

const scenario: Scenario = {
  name: "10-pipeline-worker-kill",
  title:
    "Pipeline workers SIGKILLed at random: every command build still finishes with a verdict, is triggered and run once, and stops polling when it ends",
  run,
};

export default scenario;
