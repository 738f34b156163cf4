// One child process of the fault suite: started the way a signal reaches the
// real process (node --import tsx, never npx), its stdout read as the line
// protocol of proc/lines.ts.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { ChildLine } from "@/faults/proc/lines";

export const ROOT = path.resolve(__dirname, "..", "..");
const PROC_DIR = path.join(ROOT, "faults", "proc");
const STDERR_KEEP = 4000;
/** Loading tsx and the queue takes a few seconds of CPU on a busy 2-core machine. */
const READY_TIMEOUT_MS = 45_000;

/** What to run: a script of faults/proc by name, or any script by path. */
export interface ChildSpec {
  script: "publisher" | "consumer" | "migrate-and-start" | { path: string };
  args: string[];
  /** A module of faults/proc preloaded with --import, e.g. "skew-clock.ts". */
  preload?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Child {
  readonly proc: ChildProcess;
  /** Resolves once the process exited and every line it printed was handled. */
  readonly closed: Promise<ExitInfo>;
  readonly ready: Promise<void>;
  exit?: ExitInfo;
  /** It printed its ready line. */
  isReady = false;
  /** The signal the harness sent to end it, so an exit by it is not a failure. */
  signalled?: NodeJS.Signals;
  stderr = "";
  /** What a `fatal` line said: the crash the process reported before it died. */
  fatal?: string;
  /** One-shot line watchers: one returning true is removed. */
  readonly watchers = new Set<(line: ChildLine) => boolean>();

  constructor(
    readonly name: string,
    spec: ChildSpec,
    onLine: (line: ChildLine) => void,
  ) {
    const script = typeof spec.script === "string" ? path.join(PROC_DIR, `${spec.script}.ts`) : spec.script.path;
    const preload = spec.preload ? ["--import", pathToFileURL(path.join(PROC_DIR, spec.preload)).href] : [];
    this.proc = spawn(process.execPath, ["--import", "tsx", ...preload, script, ...spec.args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: spec.env ? { ...process.env, ...spec.env } : process.env,
    });
    const out = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    let markReady: () => void = () => {};
    let failReady: (err: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // A caller that never awaits ready must not crash on its rejection.
    this.ready.catch(() => {});
    out.on("line", (text) => {
      const line = parseLine(text);
      if (!line) {
        this.keepStderr(`${text}\n`);
        return;
      }
      for (const w of [...this.watchers]) if (w(line)) this.watchers.delete(w);
      if (line.t === "ready") {
        this.isReady = true;
        markReady();
      } else if (line.t === "fatal") this.fatal = line.error;
      onLine(line);
    });
    this.proc.stderr?.on("data", (chunk: Buffer) => this.keepStderr(chunk.toString()));
    this.closed = new Promise<ExitInfo>((resolve) => {
      // "close" comes after stdout ended, so every line was seen.
      this.proc.once("close", (code, signal) => {
        this.exit = { code, signal };
        failReady(new Error(`${name} exited (${signal ?? code}) before it was ready: ${this.why()}`));
        resolve(this.exit);
      });
    });
    const timer = setTimeout(
      () => failReady(new Error(`${name} was not ready within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    void this.ready.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** An exit the harness did not cause, or a graceful stop that did not end with 0. */
  get failed(): boolean {
    if (!this.exit) return false;
    if (this.signalled === "SIGKILL") return false;
    return this.exit.code !== 0;
  }

  /** The crash it reported, else the end of its stderr: what a problem report quotes. */
  why(): string {
    return (this.fatal ?? this.stderr).trim().slice(-600);
  }

  signal(sig: "SIGKILL" | "SIGTERM"): void {
    if (!this.running) return;
    this.signalled = sig;
    this.proc.kill(sig);
  }

  /** SIGSTOP or SIGCONT: frozen and thawed, not ended. */
  freeze(frozen: boolean): void {
    if (this.running) this.proc.kill(frozen ? "SIGSTOP" : "SIGCONT");
  }

  /** Waits for the exit at most `timeoutMs`; true if it came. */
  async exitWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), timeoutMs);
    });
    const outcome = await Promise.race([this.closed, late]);
    clearTimeout(timer);
    return outcome !== "late";
  }

  private keepStderr(text: string): void {
    this.stderr = (this.stderr + text).slice(-STDERR_KEEP);
  }
}

/** A protocol line, or undefined for anything else a child printed (a log line, a stack). */
function parseLine(text: string): ChildLine | undefined {
  try {
    const line = JSON.parse(text) as unknown;
    if (typeof line === "object" && line !== null && typeof (line as { t?: unknown }).t === "string")
      return line as ChildLine;
  } catch {}
  return undefined;
}
