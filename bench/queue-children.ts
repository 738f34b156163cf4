// The queue bench's child processes (bench/queue-worker.ts, bench/queue-publisher.ts):
// started as `node --import tsx <file> <config JSON>` with an IPC channel, each
// says "ready", waits for "go", reports over IPC, and exits when told to stop
// (or when the bench goes away). Every child still running when the bench
// exits, fails or is interrupted is killed.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** What a child sends. */
export type ChildReport =
  | { type: "ready" }
  /** Keys of messages acked since the last report; `lastAckAt` is wall-clock ms (wallNow). */
  | { type: "acked"; keys: string[]; lastAckAt: number; statements: number }
  | { type: "published"; count: number; seconds: number }
  | { type: "closed"; acked: number; duplicates: number; statements: number; error?: string }
  | { type: "error"; message: string };

/** What the bench sends. */
export type ParentCommand = { type: "go" } | { type: "stop" };

export interface WorkerConfig {
  url: string;
  topic: string;
  group: string;
  subscriberName: string;
  handlers: number;
}

export interface PublisherConfig {
  url: string;
  topic: string;
  count: number;
  ratePerSec: number;
  partitions: number;
}

const live = new Set<ChildProcess>();

/** Kills every child still running (synchronous: safe in an exit or signal handler). */
export function killChildren() {
  for (const c of live) c.kill("SIGKILL");
  live.clear();
}

let hooked = false;
/** Call before dropOnSignal, so children are gone before the database is dropped. */
export function killChildrenOnExit() {
  if (hooked) return;
  hooked = true;
  process.on("exit", killChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, killChildren);
}

export class BenchChild {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly listeners = new Set<(r: ChildReport) => void>();

  constructor(
    readonly name: string,
    file: "queue-worker.ts" | "queue-publisher.ts",
    config: WorkerConfig | PublisherConfig,
  ) {
    this.proc = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", file), JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    live.add(this.proc);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        live.delete(this.proc);
        this.exit ??= { code, signal };
        resolve(this.exit);
      };
      this.proc.once("exit", done);
      this.proc.once("error", (err) => {
        console.error(`${name}: ${err.message}`);
        done(null, null);
      });
    });
    this.proc.on("message", (m) => {
      for (const l of [...this.listeners]) l(m as ChildReport);
    });
  }

  on(listener: (r: ChildReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(cmd: ParentCommand) {
    if (this.proc.connected) this.proc.send(cmd);
  }

  /** The first report of `type`; rejects on an error report, an exit, or the timeout. */
  waitFor<T extends ChildReport["type"]>(type: T, timeoutMs: number): Promise<Extract<ChildReport, { type: T }>> {
    return new Promise((resolve, reject) => {
      const finish = (err?: Error, r?: ChildReport) => {
        clearTimeout(timer);
        off();
        if (err) reject(err);
        else resolve(r as Extract<ChildReport, { type: T }>);
      };
      const timer = setTimeout(() => finish(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      const off = this.on((r) => {
        if (r.type === type) finish(undefined, r);
        else if (r.type === "error") finish(new Error(`${this.name}: ${r.message}`));
      });
      void this.exited.then((e) => finish(new Error(`${this.name} exited (${e.signal ?? e.code}) before "${type}"`)));
    });
  }

  /** Asks it to stop; kills it if it has not exited within `timeoutMs`. True when it exited cleanly (code 0). */
  async stop(timeoutMs: number): Promise<boolean> {
    if (!this.exit) {
      this.send({ type: "stop" });
      const timer = setTimeout(() => this.proc.kill("SIGKILL"), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exit?.code === 0;
  }
}

/** In a child: the config from argv, and a typed send that resolves once the report is written. */
export function childConfig<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error("usage: node --import tsx bench/<child>.ts '<config JSON>' (started by bench/queue.ts)");
  return JSON.parse(raw) as T;
}

export function report(r: ChildReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(r, undefined, {}, () => resolve());
  });
}

/** In a child: resolves on the parent's command of `type`. A child whose parent went away exits. */
export function onCommand(type: ParentCommand["type"]): Promise<void> {
  return new Promise((resolve) => {
    const listener = (m: unknown) => {
      if ((m as ParentCommand).type === type) {
        process.off("message", listener);
        resolve();
      }
    };
    process.on("message", listener);
  });
}

export function exitWithParent() {
  process.on("disconnect", () => process.exit(2));
}
