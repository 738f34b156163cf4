// One child process of the fault suite: started the way SIGKILL reaches the
// real process (node --import tsx, never npx), its stdout read as JSON lines.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { ChildLine } from "./proc/lines";

const ROOT = path.resolve(__dirname, "..");
const STDERR_KEEP = 4000;
/** Loading tsx and the queue takes a few seconds of CPU on a busy 2-core machine. */
const READY_TIMEOUT_MS = 45_000;

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
  /** The signal the harness sent, so an exit by it is not a failure. */
  signalled?: NodeJS.Signals;
  stderr = "";
  /** One-shot line watchers: one returning true is removed. */
  readonly watchers = new Set<(line: ChildLine) => boolean>();

  constructor(
    readonly name: string,
    script: "publisher" | "consumer",
    config: object,
    onLine: (line: ChildLine) => void,
  ) {
    this.proc = spawn(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "faults", "proc", `${script}.ts`), JSON.stringify(config)],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const out = createInterface({ input: this.proc.stdout as NodeJS.ReadableStream });
    let markReady: () => void = () => {};
    let failReady: (err: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // A scenario that never awaits ready must not crash on its rejection.
    this.ready.catch(() => {});
    out.on("line", (text) => {
      let line: ChildLine;
      try {
        line = JSON.parse(text) as ChildLine;
      } catch {
        this.stderr = `${this.stderr}${text}\n`.slice(-STDERR_KEEP);
        return;
      }
      for (const w of [...this.watchers]) if (w(line)) this.watchers.delete(w);
      if (line.t === "ready") {
        this.isReady = true;
        markReady();
      }
      onLine(line);
    });
    this.proc.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_KEEP);
    });
    this.closed = new Promise<ExitInfo>((resolve) => {
      // "close" comes after stdout ended, so every line was seen.
      this.proc.once("close", (code, signal) => {
        this.exit = { code, signal };
        failReady(new Error(`${name} exited (${signal ?? code}) before it was ready: ${this.stderr.trim()}`));
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

  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    this.signalled = sig;
    this.proc.kill(sig);
  }
}
