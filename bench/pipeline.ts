// Pipeline benchmark: how the buildsignal loop keeps up with many concurrent
// running builds. Real worker processes (scripts/worker.ts) poll command
// builds that all stay running (one `sleep` process group per build) for the
// whole measurement; the bench reads builds.status_calls at the start and end
// of a window and captures every buildsignal row published in it (before the
// workers' garbage collection can delete it) to get the actual intervals
// between status calls. It makes and drops its own database and build
// directory, stops its workers and kills every build process it caused, also
// on error or Ctrl-C.
//
//   npm run bench:pipeline [-- --builds 1000 --seconds 60 --workers 2 --running-ms 2000]
//   (BENCH_MYSQL_URL overrides mysql://root@127.0.0.1:3306/)
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "@/server/log";
import { openPipeline } from "@/server/pipeline";
import type { PipelineConfig, RunnersConfig } from "@/server/pipeline/config";
import { createBenchDatabase, query, queryOne } from "./lib";
import { describeCounts, describeFinished, requestBuilds, waitAllRunning } from "./pipeline-builds";
import { PollCapture } from "./pipeline-capture";
import { cleanup } from "./pipeline-cleanup";
import { DeadlockWatcher } from "./pipeline-db-activity";
import { measure } from "./pipeline-measure";
import { fix, int, secs } from "./pipeline-numbers";
import {
  printCadence,
  printCpu,
  printDeadLetters,
  printDeadlocks,
  printHeader,
  printIntervals,
  printProfile,
  printStatements,
  printThroughput,
  printVerdict,
  printWorkerLogs,
} from "./pipeline-report";
import { roundTrips, serverSettings } from "./pipeline-samples";
import {
  captureEveryMs,
  parseArgs,
  QUEUE_NAME,
  type Settings,
  sleepSeconds,
  USAGE,
  UsageError,
  warmUpMs,
} from "./pipeline-settings";
import { Aborted, notes, problems, sleepChecked, state } from "./pipeline-state";
import { startWorker, workerEnv } from "./pipeline-workers";

async function run(s: Settings) {
  // Capture, profiler, deadlock watcher and samples each hold one connection at a time.
  const db = await createBenchDatabase(s.server, `sluice_bench_pipe_${process.pid}`, 6);
  state.db = db;
  const buildDir = await mkdtemp(path.join(os.tmpdir(), "sluice-bench-pipe-"));
  state.buildDir = buildDir;
  const version = await queryOne<{ v: string }>(db.raw, "SELECT VERSION() AS v");
  printHeader(s, db, version?.v ?? "unknown", buildDir, await serverSettings(db.raw), await roundTrips(db.raw));

  const runners: RunnersConfig = {
    queues: { [QUEUE_NAME]: { kind: "command", command: `sleep ${sleepSeconds(s)}` } },
  };
  const config: PipelineConfig = {
    runners,
    pollDelayMs: { accepted: s.acceptedMs, running: s.runningMs },
    buildDir,
  };

  const deadlocks = new DeadlockWatcher(db.raw, db.name);
  deadlocks.start();
  console.log("\nSetup");
  let t = performance.now();
  const env = workerEnv(s, db, buildDir, runners);
  await Promise.all(Array.from({ length: s.workers }, (_, i) => startWorker(i + 1, env)));
  console.log(`   ${s.workers} workers ready in ${secs(performance.now() - t)}`);

  state.pipeline = openPipeline(db.url, config, silentLogger);
  t = performance.now();
  await requestBuilds(state.pipeline, s.builds);
  const requestMs = performance.now() - t;
  console.log(`   ${int(s.builds)} builds requested in ${secs(requestMs)} (${fix((s.builds * 1000) / requestMs)}/s)`);
  await waitAllRunning(db.raw, s.builds, t);
  console.log(`   all ${int(s.builds)} builds running ${secs(performance.now() - t)} after the first request`);

  const capture = new PollCapture(db.raw, captureEveryMs(s));
  capture.start();
  await sleepChecked(warmUpMs(s));
  if (capture.failure) throw capture.failure;
  console.log(`   warm-up done; measuring for ${s.seconds} s`);

  const m = await measure(s, db, capture);
  await capture.stop();
  await deadlocks.stop();

  printCadence(s, m);
  printIntervals(s, m);
  printThroughput(s, m);
  printCpu(m);
  printStatements(m);
  printProfile(m);
  printWorkerLogs();
  printDeadlocks(deadlocks);

  if (Object.keys(m.notRunningAtEnd).length > 0) {
    problems.push(
      `builds not running at the end of the window: ${describeCounts(m.notRunningAtEnd)}${await describeFinished(db.raw)}`,
    );
  }
  const dlq = await query<{ topic: string; n: number }>(
    db.raw,
    "SELECT topic, COUNT(*) AS n FROM queue_messages WHERE topic LIKE '%\\_dlq' GROUP BY topic",
  );
  for (const d of dlq) problems.push(`${d.n} messages dead-lettered to ${d.topic}`);
  if (dlq.length > 0) await printDeadLetters(db);
  printVerdict(s, m);
}

async function main() {
  const started = performance.now();
  let s: Settings;
  try {
    s = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.signalled) {
      console.error(`\n${signal}: still cleaning up`);
      return;
    }
    state.signalled = signal;
    console.error(`\n${signal}: stopping the workers, killing the builds, dropping the database`);
    void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let failure: unknown;
  try {
    await run(s);
  } catch (err) {
    failure = err;
  }
  if (state.signalled) {
    // The signal handler cleans up and exits; what `run` met meanwhile is a consequence.
    await new Promise(() => {});
  }
  if (failure) {
    console.error(`\nError: ${failure instanceof Error ? failure.message : String(failure)}`);
    if (failure instanceof Error && !(failure instanceof Aborted) && failure.stack) {
      console.error(failure.stack.split("\n").slice(1, 6).join("\n"));
    }
  }
  await cleanup();
  for (const n of notes) console.log(`Note: ${n}`);
  console.log(`\nProblems: ${problems.length === 0 && !failure ? "none" : ""}`);
  if (failure) console.log(`  - the run failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  for (const p of problems) console.log(`  - ${p}`);
  console.log(`Total time ${secs(performance.now() - started)}`);
  process.exit(failure || problems.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  void cleanup().finally(() => process.exit(1));
});
