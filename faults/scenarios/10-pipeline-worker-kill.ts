// Pipeline workers SIGKILLed at random moments while command builds are
// requested, triggered, run and polled. Every build must still reach a
// terminal status and its batch a verdict, no build may be triggered or its
// command started twice, and no build may keep polling once it has ended.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ROOT } from "@/faults/harness/child";
import { faultScenario, type Harness } from "@/faults/harness/harness";
import type { Slot } from "@/faults/harness/processes";
import { pick } from "@/faults/random";
import type { ScenarioOptions, ScenarioResult } from "@/faults/types";
import { missed, pause, until } from "@/faults/wait";
import { type BuildStatus, isTerminal } from "@/server/buildrunner/types";
import { silentLogger } from "@/server/log";
import { openPipeline, requestBuild } from "@/server/pipeline";
import type { PipelineConfig } from "@/server/pipeline/config";
import { PIPELINE_GROUP, TOPICS } from "@/server/pipeline/topics";

const NAME = "10-pipeline-worker-kill";
/** The real worker over the given database and runners (prints the ready line). */
const WORKER = { path: path.join(ROOT, "tests", "fixtures", "pipeline-worker.ts") };
const WORKERS = 2;
const POLL = { accepted: 300, running: 400 };
/** How long every build may take to finish after the traffic stops (builds queue up behind the kills). */
const FINISH_TIMEOUT_MS = 60_000;
/** How long the poll loops of finished builds may take to run out (delayed polls still in the queue). */
const QUIET_TIMEOUT_MS = 20_000;

async function run(h: Harness, opts: ScenarioOptions): Promise<ScenarioResult> {
  const problems: string[] = [];
  const buildDir = await mkdtemp(path.join(tmpdir(), "sluice-kill-"));
  h.onClose(() => rm(buildDir, { recursive: true, force: true }));
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
  h.onClose(() => pipeline.close());
  const query: Query = (statement, params) => h.sql(statement, params);
  const batchIds: string[] = [];
  const workers: Slot[] = [];
  for (let i = 1; i <= WORKERS; i++)
    workers.push(
      await h.procs.startProcess(`w${i}`, { script: WORKER, args: [opts.databaseUrl, JSON.stringify(config)] }),
    );

  let trafficOver = false;
  const killer = (async () => {
    while (!trafficOver) {
      await pause(300 + Math.random() * 1_200);
      if (trafficOver) break;
      const victims = h.procs.live(workers);
      if (victims.length === 0) continue;
      const victim = pick(victims);
      await h.procs.kill(victim);
      await h.procs.restart(victim);
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
  for (const w of workers) if (!h.procs.running(w)) await h.procs.restart(w);
  const kills = h.procs.kills;
  h.log(`requested ${batchIds.length} builds, ${kills} worker kills; waiting for verdicts`);

  const store = pipeline.deps.store;
  // The per-batch checks below name what did not finish.
  const unfinished = await missed(
    until(
      async () => {
        for (const id of batchIds) if ((await store.getBatch(id))?.state !== "done") return false;
        return true;
      },
      "every batch's verdict",
      FINISH_TIMEOUT_MS,
      200,
    ),
  );
  h.log(unfinished ?? `every batch had its verdict ${Date.now() - h.startedAt} ms after the start`);

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
  const noisy = await missed(
    until(
      async () => (await unfinishedPolls(query, finished)).length === 0,
      "the finished builds' polls to run out",
      QUIET_TIMEOUT_MS,
      100,
    ),
  );
  if (noisy) {
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

  return h.result([], {
    published: batchIds.length,
    counts: { delivered: terminal, lost: batchIds.length - terminal, duplicated: twice },
    faults: kills,
    problems,
  });
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

export default faultScenario({
  name: NAME,
  title:
    "Pipeline workers SIGKILLed at random: every command build still finishes with a verdict, is triggered and run once, and stops polling when it ends",
  run,
});
