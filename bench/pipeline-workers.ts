// The bench's worker processes (scripts/worker.ts): their environment, start
// (until the ready line), stop, and what they log.
import { spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { RunnersConfig } from "@/server/pipeline/config";
import { type BenchDatabase, sleep } from "./lib";
import { secs } from "./pipeline-numbers";
import { type Settings, WORKER_READY_TIMEOUT_MS, WORKER_STOP_TIMEOUT_MS } from "./pipeline-settings";
import { problems, state, type WorkerProc, workerLogs, workerLogTail } from "./pipeline-state";

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

const ROOT = path.resolve(__dirname, "..");

export function workerEnv(s: Settings, db: BenchDatabase, buildDir: string, runners: RunnersConfig): NodeJS.ProcessEnv {
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

export function startWorker(index: number, env: NodeJS.ProcessEnv): Promise<WorkerProc> {
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

export async function stopWorker(w: WorkerProc): Promise<void> {
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
