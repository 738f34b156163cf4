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
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type mysql from "mysql2/promise";
import { silentLogger } from "../server/log";
import { openPipeline, type Pipeline, requestBuild } from "../server/pipeline";
import type { PipelineConfig, RunnersConfig } from "../server/pipeline/config";
import { PIPELINE_GROUP, POLL_GENERATION, TOPICS } from "../server/pipeline/topics";
import { type BenchDatabase, createBenchDatabase, percentile, printTable, query, queryOne, sleep } from "./lib";

// ---------------------------------------------------------------- settings

interface Settings {
  server: string;
  builds: number;
  seconds: number;
  workers: number;
  runningMs: number;
  acceptedMs: number;
}

const USAGE = "usage: npm run bench:pipeline [-- --builds N] [--seconds N] [--workers N] [--running-ms N]";

/** The flags and their limits (--running-ms: what SLUICE_POLL_RUNNING_MS accepts). */
const FLAGS = {
  "--builds": { key: "builds", min: 1, max: 10_000 },
  "--seconds": { key: "seconds", min: 5, max: 3_600 },
  "--workers": { key: "workers", min: 1, max: 32 },
  "--running-ms": { key: "runningMs", min: 10, max: 3_600_000 },
} as const;

function parseArgs(argv: string[]): Settings {
  const s: Settings = {
    server: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/",
    builds: 1_000,
    seconds: 60,
    workers: 2,
    // The worker's own defaults (server/env.ts): the bench passes them explicitly.
    runningMs: 2_000,
    acceptedMs: 5_000,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const [name, inline] = arg.includes("=") ? arg.split("=", 2) : [arg, undefined];
    const flag = FLAGS[name as keyof typeof FLAGS];
    if (!flag) throw new UsageError(`unknown argument ${arg}`);
    const text = inline ?? argv[++i];
    const value = Number(text);
    if (text === undefined || !/^[0-9]+$/.test(text) || value < flag.min || value > flag.max) {
      throw new UsageError(`${name} needs a whole number from ${flag.min} to ${flag.max} (got ${text ?? "nothing"})`);
    }
    s[flag.key] = value;
  }
  return s;
}

class UsageError extends Error {}

/** Most builds requested at once. */
const REQUEST_CONCURRENCY = 10;
/** How long a worker may take to print its ready line, ms. */
const WORKER_READY_TIMEOUT_MS = 60_000;
/** How long every build may take to reach `running`, ms. */
const RUNNING_TIMEOUT_MS = 300_000;
/** How long a worker may take to stop after SIGTERM before it is killed, ms. */
const WORKER_STOP_TIMEOUT_MS = 30_000;

const warmUpMs = (s: Settings) => Math.max(5_000, 2 * s.runningMs);
/** Often enough that a consumed poll row is read before a GC pass can delete it (it lives at least runningMs). */
const captureEveryMs = (s: Settings) => Math.min(1_000, Math.max(50, Math.floor(s.runningMs / 2)));
const sampleEveryMs = (s: Settings) => (s.seconds >= 60 ? 10_000 : 5_000);
/** Each build's command: outlasts everything up to the end of the window, and dies with the cleanup. */
const sleepSeconds = (s: Settings) =>
  Math.ceil((WORKER_READY_TIMEOUT_MS + RUNNING_TIMEOUT_MS + warmUpMs(s)) / 1000) + s.seconds + 300;
/** Status calls per build per minute the configuration asks for. */
const cadencePerMin = (s: Settings) => 60_000 / s.runningMs;

const QUEUE_NAME = "bench";
/** How often the statement profiler samples PROCESSLIST, ms. */
const PROFILE_EVERY_MS = 50;

/** The database clock in ms, as the queue and the pipeline write it. */
const DB_NOW_MS = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED)";

// ---------------------------------------------------------------- state shared with the cleanup

/** Library or runner misbehaviour: printed at the end, and the exit code is 1. */
const problems: string[] = [];
/** Measurement caveats: printed, never an error. */
const notes: string[] = [];

interface WorkerProc {
  index: number;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Set once the bench asked it to stop: an exit before that is a failure. */
  stopping: boolean;
  stopMs?: number;
}

const state: {
  db?: BenchDatabase;
  pipeline?: Pipeline;
  buildDir?: string;
  workers: WorkerProc[];
  signalled?: NodeJS.Signals;
  captureStop: boolean;
} = { workers: [], captureStop: false };

class Aborted extends Error {}

function checkAbort() {
  if (state.signalled) throw new Aborted(state.signalled);
  for (const w of state.workers) {
    if (w.exit && !w.stopping) {
      throw new Error(
        `worker ${w.index} (pid ${w.pid}) exited unexpectedly (code ${w.exit.code}, signal ${w.exit.signal})${workerLogTail()}`,
      );
    }
  }
}

// ---------------------------------------------------------------- helpers

/** Sleeps in short steps, so a signal or a dead worker ends the wait at once. */
async function sleepChecked(ms: number) {
  const until = performance.now() + ms;
  for (;;) {
    checkAbort();
    const left = until - performance.now();
    if (left <= 0) return;
    await sleep(Math.min(250, left));
  }
}

function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
const fix = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (n: number) => `${n >= 0 ? "+" : ""}${(n * 100).toFixed(1)}%`;

// ---------------------------------------------------------------- processes and CPU (Linux /proc)

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields after the command name of /proc/<pid>/stat (field 3 is index 0); undefined when gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process, seconds. */
function processCpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** The whole host: busy and total CPU time, seconds, summed over CPUs. */
function hostCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

function numericDirs(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^[0-9]+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** The database server's pid when it runs on this host (a local MariaDB). */
function findDatabaseServerPid(): number | undefined {
  for (const pid of numericDirs("/proc")) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (comm === "mariadbd" || comm === "mysqld") return pid;
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

/** Build processes of this run: their environment names a build file in the bench's build directory. */
function buildProcessGroups(buildDir: string): { processes: number; groups: Set<number> } {
  const marker = `SLUICE_BUILD_FILE=${buildDir}${path.sep}`;
  const groups = new Set<number>();
  let processes = 0;
  for (const pid of numericDirs("/proc")) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)) continue;
    } catch {
      continue;
    }
    const f = statFields(pid);
    if (!f || f[0] === "Z") continue;
    processes++;
    const pgid = Number(f[2]);
    if (pgid > 1) groups.add(pgid);
  }
  return { processes, groups };
}

function killGroup(pgid: number): boolean {
  try {
    process.kill(-pgid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- workers

/** What the workers wrote on stderr (JSON log lines), counted by level and message. */
const workerLogs = { counts: new Map<string, number>(), unparsed: [] as string[], stdout: [] as string[] };

function recordWorkerLog(index: number, line: string) {
  let entry: { level?: unknown; msg?: unknown; reason?: unknown } | undefined;
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    entry = undefined;
  }
  if (!entry || typeof entry.level !== "string") {
    if (line.trim()) workerLogs.unparsed.push(`worker ${index}: ${line}`);
    return;
  }
  const reason = entry.level === "info" || typeof entry.reason !== "string" ? "" : ` (${entry.reason.slice(0, 60)}...)`;
  const key = `${entry.level}: ${String(entry.msg)}${reason}`;
  workerLogs.counts.set(key, (workerLogs.counts.get(key) ?? 0) + 1);
}

function workerLogTail(): string {
  const lines = [...workerLogs.unparsed.slice(-10), ...workerLogs.stdout.slice(-4)];
  return lines.length === 0 ? "" : `\n  ${lines.join("\n  ")}`;
}

const ROOT = path.resolve(__dirname, "..");

function workerEnv(s: Settings, db: BenchDatabase, buildDir: string, runners: RunnersConfig): NodeJS.ProcessEnv {
  // Nothing of the caller's Sluice configuration leaks into the bench's workers.
  const inherited = Object.entries(process.env).filter(
    ([k]) => k.startsWith("SLUICE_") || k.startsWith("BUILDKITE_") || k === "DATABASE_URL",
  );
  return {
    ...process.env,
    ...Object.fromEntries(inherited.map(([k]) => [k, undefined])),
    DATABASE_URL: db.url,
    SLUICE_RUNNERS: JSON.stringify(runners),
    SLUICE_BUILD_DIR: buildDir,
    SLUICE_POLL_ACCEPTED_MS: String(s.acceptedMs),
    SLUICE_POLL_RUNNING_MS: String(s.runningMs),
    // A worker whose bench died (even by SIGKILL) stops by itself.
    SLUICE_PARENT_PID: String(process.pid),
  };
}

function startWorker(index: number, env: NodeJS.ProcessEnv): Promise<WorkerProc> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_WORKER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_WORKER_PROF}`] : []),
      "--import",
      "tsx",
      "scripts/worker.ts",
    ],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (child.pid === undefined) {
    return new Promise((_, reject) => child.once("error", (err) => reject(new Error(`spawn worker: ${err.message}`))));
  }
  const w: WorkerProc = {
    index,
    pid: child.pid,
    child,
    stopping: false,
    exited: new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        w.exit = { code, signal };
        resolve();
      }),
    ),
  };
  state.workers.push(w);
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (l) => recordWorkerLog(index, l));
  const out = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker ${index} printed no ready line in ${secs(WORKER_READY_TIMEOUT_MS)}`)),
      WORKER_READY_TIMEOUT_MS,
    );
    out.on("line", (l) => {
      workerLogs.stdout.push(`worker ${index}: ${l}`);
      if (/ worker: ready\b/.test(l)) {
        clearTimeout(timer);
        resolve(w);
      }
    });
    void w.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker ${index} exited before it was ready (code ${w.exit?.code})${workerLogTail()}`));
    });
  });
}

async function stopWorker(w: WorkerProc): Promise<void> {
  w.stopping = true;
  if (w.exit) return;
  const started = performance.now();
  w.child.kill("SIGTERM");
  const stopped = await Promise.race([w.exited.then(() => true), sleep(WORKER_STOP_TIMEOUT_MS).then(() => false)]);
  if (!stopped) {
    problems.push(`worker ${w.index} (pid ${w.pid}) did not stop within ${secs(WORKER_STOP_TIMEOUT_MS)} of SIGTERM`);
    w.child.kill("SIGKILL");
    await w.exited;
  }
  w.stopMs = performance.now() - started;
  // Set by the exit listener meanwhile (TypeScript still has it narrowed to undefined).
  const exit = w.exit as WorkerProc["exit"];
  if (stopped && exit?.code !== 0) {
    problems.push(`worker ${w.index} exited with code ${exit?.code} (signal ${exit?.signal}) after SIGTERM`);
  }
}

// ---------------------------------------------------------------- builds

interface StatusRow {
  id: string;
  status: string;
  status_calls: number;
  now_ms: number;
}

async function statusSnapshot(pool: mysql.Pool) {
  const rows = await query<StatusRow>(pool, `SELECT ${DB_NOW_MS} AS now_ms, id, status, status_calls FROM builds`);
  return {
    atMs: Number(rows[0]?.now_ms ?? Number.NaN),
    byId: new Map(rows.map((r) => [r.id, { status: r.status, calls: Number(r.status_calls) }])),
  };
}

async function requestBuilds(p: Pipeline, count: number): Promise<void> {
  let next = 0;
  const sha = Date.now().toString(16);
  await Promise.all(
    Array.from({ length: Math.min(REQUEST_CONCURRENCY, count) }, async () => {
      while (next < count) {
        checkAbort();
        const i = next++;
        await requestBuild(p.deps, {
          queue: QUEUE_NAME,
          base: [],
          head: [{ uris: [`github://bench/sluice/pull/${i + 1}/${sha}`] }],
          metadata: { bench: "pipeline" },
          requester: "bench",
        });
      }
    }),
  );
}

/** Why builds that are no longer running ended, from the runner's last answer. */
async function describeFinished(pool: mysql.Pool): Promise<string> {
  const rows = await query<{ id: string; status: string; metadata: string }>(
    pool,
    "SELECT id, status, metadata FROM builds WHERE status NOT IN ('accepted', 'running') ORDER BY updated_at LIMIT 5",
  );
  return rows
    .map((r) => {
      let reason = "";
      try {
        reason = (JSON.parse(r.metadata) as Record<string, string>).reason ?? "";
      } catch {
        reason = r.metadata;
      }
      return `\n  ${r.id}: ${r.status}${reason ? ` (${reason})` : ""}`;
    })
    .join("");
}

async function statusCounts(pool: mysql.Pool): Promise<Record<string, number>> {
  const rows = await query<{ status: string; n: number }>(
    pool,
    "SELECT status, COUNT(*) AS n FROM builds GROUP BY status",
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Batches whose build row does not exist (yet). */
async function batchesWithoutBuild(pool: mysql.Pool): Promise<number> {
  const row = await queryOne<{ n: number }>(
    pool,
    "SELECT COUNT(*) AS n FROM batches b WHERE NOT EXISTS (SELECT 1 FROM builds x WHERE x.batch_id = b.id)",
  );
  return Number(row?.n ?? 0);
}

const describeCounts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(", ") || "none yet";

/** Waits until every build is running; a build that ends (fails) or a timeout is an error. */
async function waitAllRunning(pool: mysql.Pool, count: number, since: number): Promise<void> {
  let lastPrint = performance.now();
  for (;;) {
    checkAbort();
    const c = await statusCounts(pool);
    const ended = Object.entries(c).filter(([k]) => k !== "accepted" && k !== "running");
    if (ended.length > 0) {
      throw new Error(`builds ended while they should be running: ${describeCounts(c)}${await describeFinished(pool)}`);
    }
    if ((c.running ?? 0) >= count) return;
    const elapsed = performance.now() - since;
    if (elapsed > RUNNING_TIMEOUT_MS) {
      const missing = await batchesWithoutBuild(pool);
      throw new Error(
        `not every build was running after ${secs(RUNNING_TIMEOUT_MS)}: ${describeCounts(c)}, ${missing} batches without a build`,
      );
    }
    if (performance.now() - lastPrint >= 5_000) {
      const missing = await batchesWithoutBuild(pool);
      console.log(`   ${secs(elapsed)}: ${describeCounts(c)}; batches without a build row: ${int(missing)}`);
      lastPrint = performance.now();
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------- capturing poll rows

interface PollRow {
  seq: number;
  /** The poll generation (metadata); undefined on a push. */
  gen: number | undefined;
  publishedAt: number;
}

/**
 * Copies every buildsignal row into memory as it is published, so the
 * workers' garbage collection (which deletes consumed rows) cannot lose any.
 * Each scan starts after the highest log_id seen two scans ago: a row whose
 * transaction committed after a higher log_id had been read is picked up by
 * the next scan, and duplicates are dropped by (build, seq).
 */
class PollCapture {
  readonly byBuild = new Map<string, Map<number, PollRow>>();
  scans = 0;
  private from = 0;
  private lastMax = 0;
  private loop?: Promise<void>;
  failure?: unknown;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly everyMs: number,
  ) {}

  async scan() {
    const rows = await query<{
      log_id: number;
      partition_key: string;
      seq: number;
      metadata: string | null;
      published_at: number;
    }>(
      this.pool,
      `SELECT log_id, partition_key, seq, metadata, published_at FROM queue_messages
       WHERE topic = ? AND log_id > ? ORDER BY log_id`,
      [TOPICS.buildsignal, this.from],
    );
    let max = this.lastMax;
    for (const r of rows) {
      max = Math.max(max, Number(r.log_id));
      let rowsOfBuild = this.byBuild.get(r.partition_key);
      if (!rowsOfBuild) {
        rowsOfBuild = new Map();
        this.byBuild.set(r.partition_key, rowsOfBuild);
      }
      const genText = r.metadata ? (JSON.parse(r.metadata) as Record<string, string>)[POLL_GENERATION] : undefined;
      rowsOfBuild.set(Number(r.seq), {
        seq: Number(r.seq),
        gen: genText === undefined ? undefined : Number(genText),
        publishedAt: Number(r.published_at),
      });
    }
    this.from = this.lastMax;
    this.lastMax = max;
    this.scans++;
  }

  start() {
    this.loop = (async () => {
      while (!state.captureStop) {
        const started = performance.now();
        await this.scan();
        await sleep(Math.max(0, this.everyMs - (performance.now() - started)));
      }
    })().catch((err: unknown) => {
      this.failure = err;
    });
  }

  async stop() {
    state.captureStop = true;
    await this.loop;
    if (this.failure) throw this.failure;
  }
}

interface IntervalResult {
  intervals: number[];
  /** Rows published in the window. */
  published: number;
  /** Consecutive captured rows whose generations are not consecutive: a row the capture missed. */
  gaps: number;
  /** Builds with fewer than two polls in the window. */
  buildsWithoutInterval: number;
}

function intervalsInWindow(capture: PollCapture, builds: string[], fromMs: number, toMs: number): IntervalResult {
  const result: IntervalResult = { intervals: [], published: 0, gaps: 0, buildsWithoutInterval: 0 };
  for (const id of builds) {
    const rows = [...(capture.byBuild.get(id)?.values() ?? [])]
      .filter((r) => r.publishedAt >= fromMs && r.publishedAt <= toMs)
      .sort((a, b) => a.seq - b.seq);
    result.published += rows.length;
    if (rows.length < 2) result.buildsWithoutInterval++;
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1] as PollRow;
      const b = rows[i] as PollRow;
      if (a.gen !== undefined && b.gen !== undefined && b.gen !== a.gen + 1) {
        result.gaps++;
        continue;
      }
      result.intervals.push(b.publishedAt - a.publishedAt);
    }
  }
  return result;
}

// ---------------------------------------------------------------- backlog, statements, CPU

interface Backlog {
  nowMs: number;
  /** Visible now, not handed to any worker (or handed out and timed out). */
  ready: number;
  /** Handed to a worker, not settled. */
  inFlight: number;
  /** Published with a delay that has not passed. */
  scheduled: number;
  /** How long the oldest ready message has been visible, ms (0 when none; an undelayed row is visible from published_at). */
  oldestReadyMs: number;
}

/**
 * The messages of a topic group "pipeline" has not finished: above its
 * watermark, without an acked or dead delivery row (the same test the
 * queue's own fetch uses: READY_ROWS in server/queue/partition-state.ts).
 */
async function backlog(pool: mysql.Pool, topic: string): Promise<Backlog> {
  const ready = `(m.visible_after <= t.now_ms AND (d.seq IS NULL OR (d.state = 0 AND d.visible_at <= t.now_ms)))`;
  const row = await queryOne<Record<string, number | string | null>>(
    pool,
    `SELECT t.now_ms,
            COALESCE(SUM(${ready}), 0) AS ready,
            COALESCE(SUM(d.seq IS NOT NULL AND d.state = 0 AND d.visible_at > t.now_ms), 0) AS in_flight,
            COALESCE(SUM(m.visible_after > t.now_ms AND d.seq IS NULL), 0) AS scheduled,
            MIN(CASE WHEN ${ready} THEN GREATEST(m.visible_after, m.published_at) END) AS oldest_ready
     FROM (SELECT ${DB_NOW_MS} AS now_ms) t
     JOIN queue_messages m ON m.topic = ?
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = ? AND g.topic = m.topic AND g.partition_key = m.partition_key
     LEFT JOIN queue_deliveries d
       ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     WHERE m.seq > COALESCE(g.watermark, 0) AND (m.target_group IS NULL OR m.target_group = ?)`,
    [topic, PIPELINE_GROUP, PIPELINE_GROUP, PIPELINE_GROUP],
  );
  const nowMs = Number(row?.now_ms);
  const oldest = row?.oldest_ready == null ? undefined : Number(row.oldest_ready);
  return {
    nowMs,
    ready: Number(row?.ready ?? 0),
    inFlight: Number(row?.in_flight ?? 0),
    scheduled: Number(row?.scheduled ?? 0),
    oldestReadyMs: oldest === undefined ? 0 : nowMs - oldest,
  };
}

/** Round trips on an otherwise idle bench database: a read, and a durable one-row commit. */
async function roundTrips(pool: mysql.Pool): Promise<string> {
  const conn = await pool.getConnection();
  try {
    await conn.query("CREATE TABLE bench_commit (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB");
    const time = async (sql: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = performance.now();
        await conn.query(sql);
        ms.push(performance.now() - t);
      }
      return summarize(ms);
    };
    const read = await time("SELECT 1");
    const write = await time("INSERT INTO bench_commit (v) VALUES (1)");
    await conn.query("DROP TABLE bench_commit");
    return `SELECT 1 p50 ${fix(read.p50, 2)} ms; one-row autocommit INSERT p50 ${fix(write.p50, 2)} ms, p90 ${fix(write.p90, 2)} ms`;
  } finally {
    conn.release();
  }
}

/** The server settings that decide what a commit costs. */
async function serverSettings(pool: mysql.Pool): Promise<string> {
  const names = ["innodb_flush_log_at_trx_commit", "innodb_buffer_pool_size", "log_bin", "sync_binlog"];
  const rows = await query<{ Variable_name: string; Value: string }>(
    pool,
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => "?").join(", ")})`,
    names,
  );
  const v = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
  const poolMiB = Math.round(Number(v.innodb_buffer_pool_size) / 2 ** 20);
  return `innodb_flush_log_at_trx_commit ${v.innodb_flush_log_at_trx_commit}, buffer pool ${poolMiB} MiB, log_bin ${v.log_bin}, sync_binlog ${v.sync_binlog}`;
}

const STATUS_VARIABLES = ["Questions", "Com_select", "Com_insert", "Com_update", "Com_delete", "Com_commit"] as const;

async function globalStatus(pool: mysql.Pool): Promise<Record<string, number>> {
  const rows = await query<{ Variable_name: string; Value: string }>(
    pool,
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${STATUS_VARIABLES.map(() => "?").join(", ")})`,
    [...STATUS_VARIABLES],
  );
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

interface CpuSnapshot {
  atMs: number;
  host: { busy: number; total: number };
  workers: Array<number | undefined>;
  database: number | undefined;
  bench: number;
}

function cpuSnapshot(dbPid: number | undefined): CpuSnapshot {
  const own = process.cpuUsage();
  return {
    atMs: performance.now(),
    host: hostCpu(),
    workers: state.workers.map((w) => processCpuSeconds(w.pid)),
    database: dbPid === undefined ? undefined : processCpuSeconds(dbPid),
    bench: (own.user + own.system) / 1e6,
  };
}

interface Sample {
  tMs: number;
  calls: number;
  backlog: Backlog;
  /** The speculate topic's backlog: every status call publishes one speculate message. */
  speculate: Backlog;
  hostBusy: number;
}

async function takeSample(pool: mysql.Pool, windowStart: number): Promise<Sample> {
  const b = await backlog(pool, TOPICS.buildsignal);
  const speculate = await backlog(pool, TOPICS.speculate);
  const row = await queryOne<{ n: number | string | null }>(pool, "SELECT SUM(status_calls) AS n FROM builds");
  return { tMs: b.nowMs - windowStart, calls: Number(row?.n ?? 0), backlog: b, speculate, hostBusy: hostCpu().busy };
}

// ---------------------------------------------------------------- what the database is doing

/** A short name for a statement: known queue statements by name, others by verb and table. */
function statementKind(info: string): string {
  const sql = info.replace(/\s+/g, " ").trim();
  const known: Array<[RegExp, string]> = [
    [/^\(SELECT 'd' AS kind/i, "queue: scanReadyPartitions"],
    [/^SELECT @sluice_head AS head, \(@sluice_idle/i, "queue: settleProbe"],
    [/^UPDATE queue_group_partitions SET idle_until = @sluice_idle/i, "queue: settleProbe (idle marks)"],
    [/^SELECT @sluice_head AS head, x\.idle_until/i, "queue: idleProbe"],
    [/^SET @sluice_watermark/i, "queue: advanceWatermark (find blocker)"],
    [/^SET @sluice_head/i, "queue: advanceWatermark (read head)"],
    [/^SELECT MIN\(x\.seq\) AS seq FROM queue_group_partitions g/i, "queue: fetch (foreign in-flight)"],
    [/^SELECT m\.log_id, m\.seq, m\.message_id/i, "queue: fetch (ready rows)"],
    [/^SELECT watermark, lease_owner, .* FOR UPDATE/i, "queue: lockGroupPartition (FOR UPDATE)"],
    [/^SELECT f\.topic, f\.partition_key, f\.floor/i, "queue: collectGarbage (floors)"],
    [/^DELETE FROM queue_messages WHERE topic = /i, "queue: collectGarbage (delete rows)"],
    [/^SELECT log_id, partition_key, seq, metadata, published_at FROM queue_messages/i, "bench: poll row capture"],
  ];
  for (const [re, name] of known) if (re.test(sql)) return name;
  const plain = sql.replace(/`/g, "");
  const verb = (plain.split(" ")[0] ?? "").toLowerCase();
  const table = (re: RegExp) => re.exec(plain)?.[1] ?? "?";
  if (verb === "select") {
    const forUpdate = /for update$/i.test(plain) ? " … for update" : "";
    const where = /\bwhere ([a-z_.]+)/i.exec(plain)?.[1];
    return `select from ${table(/\bfrom ([a-z_]+)/i)}${where ? ` where ${where}` : ""}${forUpdate}`;
  }
  if (verb === "insert") return `insert into ${table(/^insert into ([a-z_]+)/i)}`;
  if (verb === "update") return `update ${table(/^update ([a-z_]+)/i)} set ${table(/\bset ([a-z_]+)/i)}`;
  if (verb === "delete") return `delete from ${table(/^delete from ([a-z_]+)/i)}`;
  return plain.length > 40 ? `${plain.slice(0, 37)}...` : plain;
}

/**
 * Samples the statements running in the bench database (PROCESSLIST), a
 * sampling profiler for the server: a statement is seen in proportion to how
 * long it runs (lock waits and waiting for a CPU included).
 */
class StatementSampler {
  readonly kinds = new Map<string, number>();
  samples = 0;
  idleSamples = 0;
  private stopped = false;
  private loop?: Promise<void>;
  failure?: unknown;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly dbName: string,
    private readonly everyMs: number,
  ) {}

  start() {
    this.loop = (async () => {
      while (!this.stopped && !state.captureStop) {
        const started = performance.now();
        const rows = await query<{ info: string | null }>(
          this.pool,
          `SELECT INFO AS info FROM information_schema.PROCESSLIST
           WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO IS NOT NULL`,
          [this.dbName],
        );
        this.samples++;
        if (rows.length === 0) this.idleSamples++;
        for (const r of rows) {
          const kind = statementKind(r.info ?? "");
          this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
        }
        await sleep(Math.max(0, this.everyMs - (performance.now() - started)));
      }
    })().catch((err: unknown) => {
      this.failure = err;
    });
  }

  async stop() {
    this.stopped = true;
    await this.loop;
  }
}

/**
 * Records the deadlocks InnoDB reports in the bench database. The server
 * keeps only its latest deadlock, so one read a second sees some of them,
 * not all: the kinds, not the count.
 */
class DeadlockWatcher {
  readonly pairs = new Map<string, number>();
  private readonly seen = new Set<string>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly dbName: string,
  ) {}

  async check() {
    const [row] = await query<{ Status: string }>(this.pool, "SHOW ENGINE INNODB STATUS");
    const text = row?.Status ?? "";
    const from = text.indexOf("LATEST DETECTED DEADLOCK");
    if (from < 0) return;
    const section = text.slice(from, text.indexOf("\nTRANSACTIONS\n", from));
    const lines = section.split("\n");
    const stamp = lines.find((l) => /^\d{4}-\d\d-\d\d /.test(l));
    if (!stamp || this.seen.has(stamp) || !section.includes(`\`${this.dbName}\``)) return;
    this.seen.add(stamp);
    // Each transaction's statement starts on its own line and runs (over several lines) up to the next "***".
    const statements: string[] = [];
    let phase: "before" | "waiting" | "reading" = "before";
    let current: string[] = [];
    for (const l of lines) {
      if (/^\*\*\* \(\d\) TRANSACTION:/.test(l)) phase = "waiting";
      else if (phase === "waiting" && /^(insert|select|update|delete|replace)\b/i.test(l)) {
        phase = "reading";
        current = [l];
      } else if (phase === "reading" && l.startsWith("***")) {
        statements.push(statementKind(current.join(" ")));
        phase = "before";
      } else if (phase === "reading") current.push(l);
    }
    const pair = statements.join("  ×  ") || "(statements not shown)";
    this.pairs.set(pair, (this.pairs.get(pair) ?? 0) + 1);
  }

  start() {
    this.loop = (async () => {
      while (!this.stopped && !state.captureStop) {
        // Diagnostics only: a failed read is skipped.
        await this.check().catch(() => undefined);
        await sleep(1_000);
      }
    })();
  }

  async stop() {
    this.stopped = true;
    await this.loop;
  }
}

// ---------------------------------------------------------------- the measurement

interface Measurement {
  windowMs: number;
  perMinute: number[];
  statusCalls: number;
  notRunningAtEnd: Record<string, number>;
  intervals: IntervalResult;
  samples: Sample[];
  startCalls: number;
  startHostBusy: number;
  endBacklog: Backlog;
  maxReady: number;
  maxOldestReadyMs: number;
  cpuStart: CpuSnapshot;
  cpuEnd: CpuSnapshot;
  statementsStart: Record<string, number>;
  statementsEnd: Record<string, number>;
  benchScans: number;
  profile: StatementSampler;
  otherDatabases: string[];
  dbPid: number | undefined;
}

async function measure(s: Settings, db: BenchDatabase, capture: PollCapture): Promise<Measurement> {
  const dbPid = findDatabaseServerPid();
  const profile = new StatementSampler(db.raw, db.name, PROFILE_EVERY_MS);
  const statementsStart = await globalStatus(db.raw);
  const cpuStart = cpuSnapshot(dbPid);
  const start = await statusSnapshot(db.raw);
  profile.start();
  const scansAtStart = capture.scans;
  const samples: Sample[] = [];
  const every = sampleEveryMs(s);
  const windowMs = s.seconds * 1000;
  const began = performance.now();
  for (let next = every; next < windowMs; next += every) {
    await sleepChecked(began + next - performance.now());
    if (capture.failure) throw capture.failure;
    samples.push(await takeSample(db.raw, start.atMs));
  }
  await sleepChecked(began + windowMs - performance.now());
  await profile.stop();
  const end = await statusSnapshot(db.raw);
  const cpuEnd = cpuSnapshot(dbPid);
  const statementsEnd = await globalStatus(db.raw);
  samples.push(await takeSample(db.raw, start.atMs));
  const endBacklog = (samples.at(-1) as Sample).backlog;
  // Rows published up to the end are read before the comparison.
  await capture.scan();
  await capture.scan();

  const actualMs = end.atMs - start.atMs;
  const perMinute: number[] = [];
  let statusCalls = 0;
  const notRunningAtEnd: Record<string, number> = {};
  for (const [id, b] of end.byId) {
    const before = start.byId.get(id)?.calls ?? 0;
    statusCalls += b.calls - before;
    perMinute.push(((b.calls - before) * 60_000) / actualMs);
    if (b.status !== "running") notRunningAtEnd[b.status] = (notRunningAtEnd[b.status] ?? 0) + 1;
  }
  const connections = await query<{ db: string | null; n: number }>(
    db.raw,
    "SELECT db, COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE command <> 'Daemon' GROUP BY db",
  );
  return {
    windowMs: actualMs,
    perMinute,
    statusCalls,
    notRunningAtEnd,
    intervals: intervalsInWindow(capture, [...end.byId.keys()], start.atMs, end.atMs),
    samples,
    startCalls: [...start.byId.values()].reduce((n, b) => n + b.calls, 0),
    startHostBusy: cpuStart.host.busy,
    endBacklog,
    maxReady: Math.max(...samples.map((x) => x.backlog.ready)),
    maxOldestReadyMs: Math.max(...samples.map((x) => x.backlog.oldestReadyMs)),
    cpuStart,
    cpuEnd,
    statementsStart,
    statementsEnd,
    benchScans: capture.scans - scansAtStart,
    profile,
    otherDatabases: connections.filter((c) => c.db !== db.name && c.db !== null).map((c) => `${c.db} (${c.n})`),
    dbPid,
  };
}

// ---------------------------------------------------------------- report

function printHeader(s: Settings, db: BenchDatabase, mariadb: string, buildDir: string, server: string, trips: string) {
  console.log("Sluice pipeline benchmark: buildsignal polling of concurrent running builds");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  database    ${mariadb}, ${db.name} (fresh, dropped at the end)`);
  console.log(`              ${server}`);
  console.log(`              before the run: ${trips}`);
  console.log(
    `  host        ${os.hostname()}, ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(`  builds      ${int(s.builds)} on queue "${QUEUE_NAME}": command runner, \`sleep ${sleepSeconds(s)}\``);
  console.log(`              (one process group per build, in ${buildDir}, killed at the end)`);
  console.log(
    `  polling     running ${int(s.runningMs)} ms → ${fix(cadencePerMin(s))} status calls per build per minute;`,
  );
  console.log(`              accepted ${int(s.acceptedMs)} ms`);
  console.log(`  workers     ${s.workers} × scripts/worker.ts on this host (worker defaults: concurrency 8 per topic,`);
  console.log("              pollIntervalMs 100, maintenance with collectGarbage every 30 s)");
  console.log(`  window      ${s.seconds} s, after every build runs and a ${secs(warmUpMs(s))} warm-up;`);
  console.log(
    `              buildsignal rows captured every ${captureEveryMs(s)} ms, samples every ${secs(sampleEveryMs(s))}`,
  );
}

function printCadence(s: Settings, m: Measurement) {
  const st = summarize(m.perMinute);
  const want = cadencePerMin(s);
  printTable(
    `1. Status calls per build per minute (builds.status_calls over ${secs(m.windowMs)}; configured ${fix(want)})`,
    ["", "builds", "min", "p50", "mean", "max", "mean vs configured"],
    [
      [
        "status calls / min",
        int(st.count),
        fix(st.min),
        fix(st.p50),
        fix(st.mean),
        fix(st.max),
        pct((st.mean - want) / want),
      ],
    ],
  );
  const off = m.perMinute.filter((v) => Math.abs(v - want) / want > 0.1).length;
  console.log(`   builds more than 10% off the configured cadence: ${int(off)} of ${int(st.count)}`);
}

function printIntervals(s: Settings, m: Measurement) {
  const r = m.intervals;
  const iv = summarize(r.intervals);
  const late = summarize(r.intervals.map((v) => v - s.runningMs));
  printTable(
    "2. Poll intervals (consecutive buildsignal published_at of a build, both in the window)",
    ["", "intervals", "min", "p50", "p90", "p99", "max", "mean"],
    [
      ["interval ms", int(iv.count), int(iv.min), int(iv.p50), int(iv.p90), int(iv.p99), int(iv.max), int(iv.mean)],
      [
        `lateness ms (− ${int(s.runningMs)})`,
        int(late.count),
        int(late.min),
        int(late.p50),
        int(late.p90),
        int(late.p99),
        int(late.max),
        int(late.mean),
      ],
    ],
  );
  console.log(
    `   poll rows published in the window: ${int(r.published)} (status calls counted: ${int(m.statusCalls)})`,
  );
  if (r.buildsWithoutInterval > 0)
    console.log(`   builds with fewer than 2 polls in the window: ${int(r.buildsWithoutInterval)}`);
  if (r.gaps > 0) {
    console.log(`   generation gaps (rows the capture missed, left out): ${int(r.gaps)}`);
    notes.push(`the capture missed ${r.gaps} poll rows (generation gaps); those intervals are left out`);
  }
}

function printThroughput(s: Settings, m: Measurement) {
  const cores = os.cpus().length;
  let prev = { tMs: 0, calls: m.startCalls, hostBusy: m.startHostBusy };
  const rows: string[][] = [];
  for (const x of m.samples) {
    const dt = (x.tMs - prev.tMs) / 1000;
    const rate = (x.calls - prev.calls) / dt;
    const busy = (x.hostBusy - prev.hostBusy) / dt / cores;
    rows.push([
      fix(x.tMs / 1000, 0),
      fix(rate),
      int(x.backlog.ready),
      int(x.backlog.inFlight),
      int(x.backlog.scheduled),
      int(x.backlog.oldestReadyMs),
      int(x.speculate.ready),
      int(x.speculate.oldestReadyMs),
      `${fix(busy * 100, 0)}%`,
    ]);
    prev = { tMs: x.tMs, calls: x.calls, hostBusy: x.hostBusy };
  }
  printTable(
    "3. Throughput and backlogs of group pipeline: buildsignal, then speculate (sampled; rates since the previous sample)",
    [
      "t s",
      "status calls/s",
      "ready",
      "in flight",
      "scheduled",
      "oldest ready ms",
      "speculate ready",
      "its oldest ms",
      "host CPU",
    ],
    rows,
  );
  const needed = (s.builds * 1000) / s.runningMs;
  const achieved = m.statusCalls / (m.windowMs / 1000);
  console.log(
    `   status calls: ${int(m.statusCalls)} in ${secs(m.windowMs)} = ${fix(achieved)}/s; the configured cadence asks for ${fix(needed)}/s (${pct((achieved - needed) / needed)})`,
  );
  const b = m.endBacklog;
  console.log(
    `   backlog at the end: ${int(b.ready)} ready but undelivered (oldest visible for ${int(b.oldestReadyMs)} ms), ${int(b.inFlight)} in flight, ${int(b.scheduled)} scheduled`,
  );
  console.log(`   largest backlog sampled: ${int(m.maxReady)} ready; oldest ready for ${int(m.maxOldestReadyMs)} ms`);
}

function printCpu(m: Measurement) {
  const seconds = (m.cpuEnd.atMs - m.cpuStart.atMs) / 1000;
  const cores = os.cpus().length;
  const row = (label: string, a: number | undefined, b: number | undefined): string[] => {
    if (a === undefined || b === undefined) return [label, "–", "–"];
    return [label, fix(b - a), `${fix(((b - a) / seconds) * 100, 0)}%`];
  };
  const rows = state.workers.map((w, i) =>
    row(`worker ${w.index} (pid ${w.pid})`, m.cpuStart.workers[i], m.cpuEnd.workers[i]),
  );
  rows.push(
    row(
      m.dbPid === undefined ? "database server (not on this host)" : `mariadbd (pid ${m.dbPid})`,
      m.cpuStart.database,
      m.cpuEnd.database,
    ),
  );
  rows.push(row("this bench (captures, samples)", m.cpuStart.bench, m.cpuEnd.bench));
  const hostBusy = m.cpuEnd.host.busy - m.cpuStart.host.busy;
  const listed = rows.reduce((n, r) => n + (Number(r[1]) || 0), 0);
  const others = Math.max(0, hostBusy - listed);
  rows.push(["everything else on the host", fix(others), `${fix((others / seconds) * 100, 0)}%`]);
  rows.push(["host, all processes", fix(hostBusy), `${fix((hostBusy / seconds) * 100, 0)}%`]);
  printTable(
    `4. CPU during the window (${fix(seconds)} s wall; ${cores} CPUs = ${cores * 100}% at most)`,
    ["", "CPU s", "% of one CPU"],
    rows,
  );
  const busy = hostBusy / seconds / cores;
  console.log(`   host CPU busy: ${fix(busy * 100, 0)}% of ${cores} CPUs${busy > 0.9 ? " (saturated)" : ""}`);
  if (others / seconds > 0.2) {
    notes.push(
      `other processes on the host used ${fix((others / seconds) * 100, 0)}% of one CPU during the window: the bench competed for the CPUs`,
    );
  }
}

function printStatements(m: Measurement) {
  const calls = Math.max(1, m.statusCalls);
  const rows = STATUS_VARIABLES.map((v) => {
    const d = (m.statementsEnd[v] ?? 0) - (m.statementsStart[v] ?? 0);
    return [v, int(d), fix(d / (m.windowMs / 1000), 0), fix(d / calls)];
  });
  printTable(
    "5. Statements during the window (SHOW GLOBAL STATUS: the whole server, all clients)",
    ["", "total", "per s", "per status call"],
    rows,
  );
  console.log(`   includes this bench's own reads (${int(m.benchScans)} capture scans plus a few samples)`);
  if (m.otherDatabases.length > 0) {
    console.log(`   other databases with connections at the end: ${m.otherDatabases.join(", ")}`);
    notes.push("other clients were connected to the server; the statement counts include their work");
  }
}

function printProfile(m: Measurement) {
  const p = m.profile;
  const seen = [...p.kinds.values()].reduce((a, b) => a + b, 0);
  const rows = [...p.kinds.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, n]) => [k, int(n), `${fix((n / seen) * 100)}%`, fix(n / Math.max(1, p.samples), 2)]);
  printTable(
    `6. What the database executes for this bench (PROCESSLIST every ${PROFILE_EVERY_MS} ms, ${int(p.samples)} samples; top 15)`,
    ["statement", "seen", "share", "avg running"],
    rows,
  );
  console.log(
    `   samples with nothing running: ${int(p.idleSamples)} of ${int(p.samples)}; a statement is seen in proportion to its duration`,
  );
  if (p.failure) notes.push(`the PROCESSLIST sampler stopped early: ${String(p.failure)}`);
}

function printDeadlocks(w: DeadlockWatcher) {
  const rows = [...w.pairs.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, int(n)]);
  if (rows.length === 0) {
    console.log("\n8. Deadlocks in this database (SHOW ENGINE INNODB STATUS once a second): none seen");
    return;
  }
  printTable(
    "8. Deadlocks in this database (SHOW ENGINE INNODB STATUS once a second: it keeps only the latest, so kinds, not counts)",
    ["statements of the two transactions", "seen"],
    rows,
  );
}

function printWorkerLogs() {
  const entries = [...workerLogs.counts.entries()].sort((a, b) => b[1] - a[1]);
  const rows = entries.map(([k, n]) => [k.length > 110 ? `${k.slice(0, 107)}...` : k, int(n)]);
  if (workerLogs.unparsed.length > 0) rows.push(["(lines that are not JSON logs)", int(workerLogs.unparsed.length)]);
  printTable("7. Worker log lines (stderr, whole run)", ["level: message", "lines"], rows);
  for (const l of workerLogs.unparsed.slice(0, 5)) console.log(`   ${l}`);
  for (const [k, n] of entries) {
    if (k.startsWith("error:")) problems.push(`workers logged ${n} × ${k}`);
  }
}

function printVerdict(s: Settings, m: Measurement) {
  const want = cadencePerMin(s);
  const mean = summarize(m.perMinute).mean;
  const off = (mean - want) / want;
  const within = Math.abs(off) <= 0.1;
  console.log(
    `\nVerdict: the achieved cadence, ${fix(mean)} status calls per build per minute (mean), is ${
      within ? "within" : "NOT within"
    } 10% of the configured ${fix(want)} (${pct(off)}).`,
  );
}

/** What was dead-lettered and why. */
async function printDeadLetters(db: BenchDatabase) {
  const rows = await query<{ topic: string; reason: string; n: number; first: number; last: number }>(
    db.raw,
    `SELECT topic, LEFT(failure_reason, 90) AS reason, COUNT(*) AS n,
            MIN(failed_at) - (SELECT MIN(published_at) FROM queue_messages) AS first,
            MAX(failed_at) - (SELECT MIN(published_at) FROM queue_messages) AS last
     FROM queue_messages WHERE topic LIKE '%\\_dlq' GROUP BY topic, LEFT(failure_reason, 90)`,
  );
  printTable(
    "9. Dead-lettered messages (failed_at: seconds after the first message of the run)",
    ["topic", "messages", "failed_at s", "reason (start)"],
    rows.map((r) => [
      r.topic,
      int(Number(r.n)),
      `${fix(Number(r.first) / 1000)}–${fix(Number(r.last) / 1000)}`,
      r.reason,
    ]),
  );
}

// ---------------------------------------------------------------- cleanup

let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= cleanupInner();
  return cleaning;
}

async function step(what: string, fn: () => Promise<string | undefined>) {
  try {
    const said = await fn();
    if (said) console.log(`  ${said}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`  cleanup: ${what} failed: ${message}`);
    problems.push(`cleanup: ${what} failed: ${message}`);
  }
}

async function cleanupInner() {
  console.log("\nCleanup");
  state.captureStop = true;
  await step("stopping the workers", async () => {
    if (state.workers.length === 0) return undefined;
    await Promise.all(state.workers.map(stopWorker));
    const times = state.workers.map((w) => (w.stopMs === undefined ? "already gone" : `${int(w.stopMs)} ms`));
    return `workers stopped (SIGTERM → exit: ${times.join(", ")})`;
  });
  const buildDir = state.buildDir;
  await step("killing the build processes", async () => {
    const groups = new Set<number>();
    if (state.db) {
      try {
        const rows = await query<{ pid: number }>(state.db.raw, "SELECT pid FROM command_builds WHERE pid IS NOT NULL");
        for (const r of rows) groups.add(Number(r.pid));
      } catch {
        // The /proc scan below still finds them.
      }
    }
    const fromDb = groups.size;
    if (buildDir) for (const g of buildProcessGroups(buildDir).groups) groups.add(g);
    let killed = 0;
    for (const g of groups) if (killGroup(g)) killed++;
    if (!buildDir) return `killed ${killed} build process groups`;
    let left = buildProcessGroups(buildDir);
    for (let i = 0; i < 50 && left.processes > 0; i++) {
      for (const g of left.groups) killGroup(g);
      await sleep(100);
      left = buildProcessGroups(buildDir);
    }
    if (left.processes > 0) throw new Error(`${left.processes} build processes are still alive`);
    return `killed ${int(killed)} build process groups (${int(fromDb)} pids in command_builds); none left`;
  });
  await step("closing the bench's pipeline", async () => {
    await state.pipeline?.close();
    return undefined;
  });
  await step("dropping the database", async () => {
    if (!state.db) return undefined;
    await state.db.drop();
    return `dropped ${state.db.name}`;
  });
  await step("removing the build directory", async () => {
    if (!buildDir) return undefined;
    await rm(buildDir, { recursive: true, force: true });
    return `removed ${buildDir}`;
  });
}

// ---------------------------------------------------------------- main

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
