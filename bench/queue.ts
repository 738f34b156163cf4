// Queue benchmark: the hot path of issue 10 measured side by side in one run
// against one throwaway database (dropped at the end, also on error or
// Ctrl-C), with the raw MariaDB figures of the same run as yardsticks:
//
//   raw         durable single-row autocommit commits/s on 1 and 4 connections, before and
//               after the process and one sections (the throughput rows' ratios use the mean)
//   publish     publish() one by one vs autocommit INSERT; 1,000 per call vs 100-row INSERT
//   process     10,000 pre-published messages over 16 partitions, 10 no-op handlers:
//               1 process, then 2 and 4 worker processes (bench/queue-worker.ts)
//   one         10,000 messages in one partition, 1 process, 10 handlers
//   backlog     one partition 1,000 vs 100,000 deep, rate over the first min(all, 20 s)
//   latency     50 msg/s for 10 s, publisher in another process (bench/queue-publisher.ts)
//               and on the subscriber's own Queue instance
//   delayed     200 publishAfter with a 2 s delay: lateness, early deliveries (DB clock)
//   idle        statements/s of an idle subscriber, 1 vs 1,000 drained partitions
//
// and then the targets, each with its measured value and pass/FAIL.
// Every section has a deadline and reports what it got when it passes it; a
// missed target is a FAIL in the table, not an error. The exit code is 1 only
// when the library misbehaved (lost, duplicate or early messages, errors): see
// "Problems" at the end. The full run takes ~2.5 minutes, ~3.5 with the library of
// issue 10 (before its rewrite: the deadlines cut the one-partition runs short).
//
//   npm run bench:queue
//   BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306/   the server (default shown)
//   BENCH_QUICK=1                                  counts 10× smaller, shorter windows: a ~1-minute smoke test
//   BENCH_ONLY=process,latency                     only these sections (names above)
import { type BenchDatabase, createBenchDatabase, dropOnSignal, queryOne } from "./lib";
import { killChildren, killChildrenOnExit } from "./queue-children";
import {
  type DbClock,
  describeError,
  int,
  measureClock,
  ms1,
  ONLY,
  problem,
  problems,
  QUICK,
  SETTINGS,
  SUBSCRIBER_DEFAULTS,
  secs,
} from "./queue-common";
import { measureIdle, printIdle } from "./queue-idle";
import {
  benchCrossProcessLatency,
  benchDelayed,
  benchInProcessLatency,
  type LatencyResult,
  printDelayed,
  printLatency,
} from "./queue-latency";
import {
  benchBacklog,
  benchOnePartition,
  benchThroughput,
  type DrainResult,
  printBacklog,
  printRawCommits,
  printThroughput,
} from "./queue-process";
import { benchPublish, printPublish } from "./queue-publish";
import { type CommitRate, measureRawCommits } from "./queue-raw";
import { printTargets } from "./queue-targets";

const SECTIONS = ["raw", "publish", "process", "one", "backlog", "latency", "delayed", "idle"] as const;
type Section = (typeof SECTIONS)[number];

function printHeader(db: BenchDatabase, mariadb: string, clock: DbClock) {
  const s = SETTINGS;
  console.log(`Sluice queue benchmark${QUICK ? " (BENCH_QUICK: counts scaled down 10×, not a measurement)" : ""}`);
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  database    ${mariadb}, ${db.name} (fresh, dropped at the end)`);
  console.log(`  clock       DB − Date.now() = ${ms1(clock.offsetMs)} ms (±${ms1(clock.uncertaintyMs)} ms)`);
  console.log(`  messages    ${s.payloadBytes} B payload, ${s.partitions} partition keys unless one`);
  console.log(
    `  raw         UPDATE by primary key, autocommit, ${secs(s.rawCommitWindowMs)} on 1 and on 4 connections, before and after process/one`,
  );
  console.log(
    `  publish     ${int(s.singleCount)} one by one, ${int(s.batchCount)} in calls of ${int(s.publishBatch)}`,
  );
  console.log(
    `  process     ${int(s.processCount)} messages; 1 process, then ${s.workerCounts.join(" and ")} worker processes; deadline ${secs(s.processDeadlineMs)} each`,
  );
  console.log(
    `  one         ${int(s.onePartitionCount)} messages in one partition; deadline ${secs(s.onePartitionDeadlineMs)}`,
  );
  console.log(
    `  backlog     one partition ${int(s.backlogShallow)} vs ${int(s.backlogDeep)} deep, each for min(all, ${secs(s.backlogWindowMs)})`,
  );
  console.log(`  latency     ${s.latencyRatePerSec} msg/s for ${secs(s.latencyDurationMs)}`);
  console.log(`  delayed     ${int(s.delayedCount)} publishAfter with a ${secs(s.delayMs)} delay`);
  console.log(`  idle        ${secs(s.idleWindowMs)} window, 1 vs ${int(s.idleWidePartitions)} drained partitions`);
  const d = SUBSCRIBER_DEFAULTS;
  console.log(`  subscriber  defaults: pollIntervalMs ${d.pollIntervalMs}, batchSize ${d.batchSize},`);
  console.log(
    `              leaseRenewalIntervalMs ${d.leaseRenewalIntervalMs}, leaseDurationMs ${d.leaseDurationMs};`,
  );
  console.log(`              ${SETTINGS.handlers} concurrent handlers per subscription (no-op, then ack)`);
  if (ONLY.size > 0) console.log(`  only        ${[...ONLY].join(", ")}`);
}

/** Runs one section unless BENCH_ONLY leaves it out; an error is a problem of the run, and the next section goes on. */
async function section(name: Section, fn: () => Promise<void>) {
  if (ONLY.size > 0 && !ONLY.has(name)) return;
  const started = performance.now();
  console.error(`[${name}] started`);
  try {
    await fn();
  } catch (err) {
    problem(`${name}: ${describeError(err)}`);
    console.log(`\n${name}: FAILED: ${describeError(err)}`);
  } finally {
    // A child left by a section that failed must not run into the next one.
    killChildren();
  }
  console.error(`[${name}] done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function run(db: BenchDatabase) {
  const unknown = [...ONLY].filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown section ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`);
  const version = await queryOne<{ v: string }>(db.raw, "SELECT VERSION() AS v");
  const clock = await measureClock(db.raw);
  printHeader(db, version?.v ?? "unknown", clock);

  // Raw commits are measured before and after the throughput runs: a busy machine shows as drift between the two.
  const raw: CommitRate[] = [];
  const measureRaw = (when: CommitRate["when"]) =>
    section("raw", async () => {
      for (const c of SETTINGS.rawCommitConnections) {
        raw.push(await measureRawCommits(db, when, c, SETTINGS.rawCommitWindowMs));
      }
    });
  await measureRaw("before");
  await section("publish", async () => printPublish(await benchPublish(db)));
  // Rows are pushed as they are measured: a section that fails half-way still prints what it got.
  const throughput: DrainResult[] = [];
  await section("process", () => benchThroughput(db, throughput));
  await section("one", async () => {
    throughput.push(await benchOnePartition(db));
  });
  await measureRaw("after");
  if (raw.length > 0) printRawCommits(raw);
  if (throughput.length > 0) printThroughput(throughput, raw);
  const backlog: DrainResult[] = [];
  await section("backlog", () => benchBacklog(db, backlog));
  if (backlog.length > 0) printBacklog(backlog);
  const latency: LatencyResult[] = [];
  await section("latency", async () => {
    latency.push(await benchCrossProcessLatency(db, clock));
    latency.push(await benchInProcessLatency(db, clock));
  });
  if (latency.length > 0) printLatency(latency);
  await section("delayed", async () => printDelayed(await benchDelayed(db, clock), clock));
  await section("idle", async () => {
    printIdle([await measureIdle(db, 1), await measureIdle(db, SETTINGS.idleWidePartitions)]);
  });
  printTargets();
}

async function main() {
  const started = performance.now();
  killChildrenOnExit();
  const db = await createBenchDatabase(SETTINGS.server, `sluice_bench_${process.pid}`, 4);
  const dropOnce = dropOnSignal(db);
  try {
    await run(db);
  } finally {
    killChildren();
    await dropOnce();
  }
  console.log(`\nProblems: ${problems.length === 0 ? "none" : ""}`);
  for (const p of problems) console.log(`  - ${p}`);
  console.log(`Total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
