// Processing throughput: pre-published messages drained by subscriptions of
// 10 concurrent no-op handlers (each acks when its handler returns), in this
// process or in 2 and 4 worker processes (bench/queue-worker.ts), over 16
// partitions or one; and one partition's drain rate at two backlog depths.
// Every run stops at its deadline and reports the rate over what it got.
import { createQueue } from "@/server/queue";
import { type BenchDatabase, printTable } from "./lib";
import { BenchChild, type WorkerConfig } from "./queue-children";
import {
  describeError,
  fix2,
  GROUP,
  inChunks,
  int,
  message,
  problem,
  SETTINGS,
  SUBSCRIBER_DEFAULTS,
  secs,
  serverFsyncs,
  startHandlers,
  subscriptionFor,
  times,
  wallNow,
} from "./queue-common";
import { type CommitRate, rawCommitRate } from "./queue-raw";
import { recordTarget } from "./queue-targets";

export interface DrainResult {
  label: string;
  partitions: number;
  /** Messages waiting when the drain started. */
  planned: number;
  /** Distinct messages acked within the window. */
  acked: number;
  /** From the first next() ("go" for workers) to the last ack, or to the deadline. */
  seconds: number;
  completed: boolean;
  deadlineMs: number;
  /** Statements the library sent in the window (workers: as last reported). */
  statements: number;
  /** Server-wide InnoDB fsyncs in the window. */
  fsyncs: number;
  /** Acked messages per worker process. */
  split?: number[];
}

const rate = (r: DrainResult) => r.acked / r.seconds;

const progress = (r: DrainResult) =>
  console.error(
    `  … ${r.label}: ${int(r.acked)} of ${int(r.planned)} in ${r.seconds.toFixed(1)} s${r.completed ? "" : " (deadline)"}`,
  );

/** Publishes `count` messages over `partitions` keys in calls of 1,000 from a queue of its own; returns how many. */
export async function prePublish(db: BenchDatabase, topic: string, count: number, partitions: number, deadlineMs = 0) {
  const queue = createQueue({ url: db.url });
  try {
    const deadline = deadlineMs > 0 ? performance.now() + deadlineMs : Number.POSITIVE_INFINITY;
    return await inChunks(
      count,
      1_000,
      (from, n) =>
        queue.publisher.publish(
          topic,
          Array.from({ length: n }, (_, k) => message("m", from + k, partitions)),
        ),
      deadline,
    );
  } finally {
    await queue.close();
  }
}

/** Drains `topic` (holding `planned` messages) with one subscription of 10 handlers in this process. */
export async function drainInProcess(
  db: BenchDatabase,
  label: string,
  topic: string,
  partitions: number,
  planned: number,
  deadlineMs: number,
): Promise<DrainResult> {
  const queue = createQueue({ url: db.url });
  try {
    const sub = queue.subscriber.subscribe(topic, subscriptionFor(topic));
    const fsyncs0 = await serverFsyncs(db.raw);
    const statements0 = queue.statementCount();
    const start = performance.now();
    const handlers = startHandlers(sub, SETTINGS.handlers);
    const completed = await handlers.until(planned, start + deadlineMs);
    const end = completed ? handlers.lastAckAt() : performance.now();
    const acked = handlers.acked();
    const statements = queue.statementCount() - statements0;
    const fsyncs = (await serverFsyncs(db.raw)) - fsyncs0;
    await handlers.stop();
    if (handlers.error() !== undefined) problem(`${label}: ${describeError(handlers.error())}`);
    if (handlers.duplicates() > 0) problem(`${label}: ${handlers.duplicates()} messages acked twice`);
    const r = {
      label,
      partitions,
      planned,
      acked,
      seconds: (end - start) / 1000,
      completed,
      deadlineMs,
      statements,
      fsyncs,
    };
    progress(r);
    return r;
  } finally {
    await queue.close();
  }
}

/**
 * Drains `topic` with `workers` child processes, each one subscription of 10
 * handlers in the same group. Timed from "go" (all ready) until the children's
 * reports add up to `planned` distinct messages acked.
 */
export async function drainInWorkers(
  db: BenchDatabase,
  label: string,
  topic: string,
  partitions: number,
  planned: number,
  workers: number,
  deadlineMs: number,
): Promise<DrainResult> {
  const children = Array.from({ length: workers }, (_, i) => {
    const config: WorkerConfig = {
      url: db.url,
      topic,
      group: GROUP,
      subscriberName: `bench-worker-${i + 1}-of-${workers}`,
      handlers: SETTINGS.handlers,
    };
    return new BenchChild(`${label}, worker ${i + 1}`, "queue-worker.ts", config);
  });
  const keys = new Set<string>();
  const split = children.map(() => 0);
  const statements = children.map(() => 0);
  const closed = children.map(() => undefined as undefined | { duplicates: number; error?: string });
  let duplicates = 0;
  let lastAckAt = 0;
  let finish: (ok: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let stopping = false;
  children.forEach((c, i) => {
    c.on((r) => {
      if (r.type === "acked") {
        for (const k of r.keys) {
          if (keys.has(k)) duplicates++;
          else keys.add(k);
        }
        split[i] = (split[i] ?? 0) + r.keys.length;
        statements[i] = r.statements;
        lastAckAt = Math.max(lastAckAt, r.lastAckAt);
        if (keys.size >= planned) finish(true);
      } else if (r.type === "closed") {
        closed[i] = r;
      } else if (r.type === "error") {
        problem(`${c.name}: ${r.message}`);
        finish(false);
      }
    });
    void c.exited.then((e) => {
      if (stopping) return;
      problem(`${c.name} exited early (${e.signal ?? e.code})`);
      finish(false);
    });
  });
  try {
    await Promise.all(children.map((c) => c.waitFor("ready", SETTINGS.childReadyTimeoutMs)));
    const fsyncs0 = await serverFsyncs(db.raw);
    const go = wallNow();
    for (const c of children) c.send({ type: "go" });
    const timer = setTimeout(() => finish(false), deadlineMs);
    const completed = await done;
    clearTimeout(timer);
    const end = completed ? lastAckAt : wallNow();
    const acked = keys.size;
    const sentStatements = statements.reduce((a, b) => a + b, 0);
    const fsyncs = (await serverFsyncs(db.raw)) - fsyncs0;
    const r: DrainResult = {
      label,
      partitions,
      planned,
      acked,
      seconds: (end - go) / 1000,
      completed,
      deadlineMs,
      statements: sentStatements,
      fsyncs,
      split: [...split],
    };
    progress(r);
    return r;
  } finally {
    stopping = true;
    const clean = await Promise.all(children.map((c) => c.stop(SETTINGS.childStopTimeoutMs)));
    clean.forEach((ok, i) => {
      const c = children[i] as BenchChild;
      if (!ok) problem(`${c.name} did not exit cleanly (${c.exit?.signal ?? c.exit?.code})`);
      const report = closed[i];
      if (report?.error) problem(`${c.name}: ${report.error}`);
      duplicates += report?.duplicates ?? 0;
    });
    if (duplicates > 0) problem(`${label}: ${duplicates} messages acked twice`);
  }
}

// ---------------------------------------------------------------- sections

/** Pushes each row into `rows` as it is measured, so a later failure keeps the earlier rows. */
export async function benchThroughput(db: BenchDatabase, rows: DrainResult[]) {
  const { processCount: count, partitions, processDeadlineMs: deadline } = SETTINGS;
  await prePublish(db, "bench.process.1", count, partitions);
  rows.push(await drainInProcess(db, "1 process", "bench.process.1", partitions, count, deadline));
  for (const workers of SETTINGS.workerCounts) {
    const topic = `bench.process.${workers}w`;
    await prePublish(db, topic, count, partitions);
    rows.push(await drainInWorkers(db, `${workers} worker processes`, topic, partitions, count, workers, deadline));
  }
}

export async function benchOnePartition(db: BenchDatabase): Promise<DrainResult> {
  const { onePartitionCount: count, onePartitionDeadlineMs: deadline } = SETTINGS;
  await prePublish(db, "bench.one", count, 1);
  return drainInProcess(db, "one partition, 1 process", "bench.one", 1, count, deadline);
}

/** One partition at two depths, each drained for the first min(all, backlogWindowMs). */
export async function benchBacklog(db: BenchDatabase, rows: DrainResult[]) {
  for (const depth of [SETTINGS.backlogShallow, SETTINGS.backlogDeep]) {
    const topic = `bench.backlog.${depth}`;
    const started = performance.now();
    const published = await prePublish(db, topic, depth, 1, SETTINGS.backlogPublishDeadlineMs);
    const publishSeconds = (performance.now() - started) / 1000;
    console.error(`  … backlog: ${int(published)} published to one partition in ${publishSeconds.toFixed(1)} s`);
    rows.push(await drainInProcess(db, `${int(published)} deep`, topic, 1, published, SETTINGS.backlogWindowMs));
  }
}

// ---------------------------------------------------------------- report

export function printRawCommits(raw: CommitRate[]) {
  printTable(
    "Raw MariaDB: durable single-row commits (autocommit UPDATE by primary key, a row per connection)",
    ["measured", "connections", "commits", "seconds", "commits/s"],
    raw.map((r) => [
      `${r.when} the throughput runs`,
      String(r.connections),
      int(r.commits),
      fix2(r.seconds),
      int(r.perSec),
    ]),
  );
}

function perMsg(x: number, r: DrainResult) {
  return r.acked > 0 ? fix2(x / r.acked) : "—";
}

export function printThroughput(rows: DrainResult[], raw: CommitRate[]) {
  const d = SUBSCRIBER_DEFAULTS;
  const raw1 = rawCommitRate(raw, 1);
  const raw4 = rawCommitRate(raw, 4);
  printTable(
    `Process throughput (no-op handler, then ack; ${SETTINGS.handlers} handlers per subscription, batchSize ${d.batchSize}, pollIntervalMs ${d.pollIntervalMs})`,
    ["", "partitions", "acked", "seconds", "msgs/s", "÷ raw 1 conn", "÷ raw 4 conn", "stmts/msg", "fsyncs/msg"],
    rows.map((r) => [
      r.label,
      String(r.partitions),
      r.completed ? int(r.acked) : `${int(r.acked)} of ${int(r.planned)}`,
      fix2(r.seconds),
      int(rate(r)),
      times(rate(r) / raw1),
      times(rate(r) / raw4),
      perMsg(r.statements, r),
      perMsg(r.fsyncs, r),
    ]),
  );
  console.log(
    `   ÷ raw: messages per raw commit; raw = ${int(raw1)} commits/s on 1 connection, ${int(raw4)} on 4 (mean of before and after)`,
  );
  console.log("   stmts/msg: statements the library sent (all its processes); fsyncs/msg: server-wide InnoDB fsyncs");
  for (const r of rows) {
    if (!r.completed) console.log(`   ${r.label}: deadline ${secs(r.deadlineMs)} reached, rate over what was acked`);
    if (r.split) console.log(`   ${r.label}: acked per worker ${r.split.map(int).join(" / ")}`);
  }
  const note = (r: DrainResult) => (r.completed ? undefined : `deadline, ${int(r.acked)} of ${int(r.planned)}`);
  const one = rows.find((r) => r.label === "1 process");
  const two = rows.find((r) => r.label === "2 worker processes");
  const fifo = rows.find((r) => r.partitions === 1);
  if (one) recordTarget("process1", `${int(rate(one))} msgs/s`, rate(one) >= 1_800, note(one));
  if (one && two) {
    recordTarget("process2", `${int(rate(two))} vs ${int(rate(one))} msgs/s`, rate(two) >= rate(one), note(two));
  }
  if (fifo) recordTarget("onePartition", `${int(rate(fifo))} msgs/s`, rate(fifo) >= 1_000, note(fifo));
}

export function printBacklog(rows: DrainResult[]) {
  printTable(
    `Backlog depth: one partition, 1 process, ${SETTINGS.handlers} handlers, rate over the first min(all, ${secs(SETTINGS.backlogWindowMs)})`,
    ["messages waiting", "acked", "seconds", "msgs/s", "stmts/msg", "fsyncs/msg"],
    rows.map((r) => [
      int(r.planned),
      int(r.acked),
      fix2(r.seconds),
      int(rate(r)),
      perMsg(r.statements, r),
      perMsg(r.fsyncs, r),
    ]),
  );
  const [shallow, deep] = rows;
  if (!shallow || !deep) return;
  const ratio = rate(deep) / rate(shallow);
  console.log(`   ${int(deep.planned)} : ${int(shallow.planned)} deep = ${times(ratio)} (target ≥ 0.80×)`);
  if (deep.planned < SETTINGS.backlogDeep) {
    console.log(`   only ${int(deep.planned)} of ${int(SETTINGS.backlogDeep)} were published before the deadline`);
  }
  recordTarget("backlog", `${times(ratio)} (${int(rate(deep))} vs ${int(rate(shallow))} msgs/s)`, ratio >= 0.8);
}
