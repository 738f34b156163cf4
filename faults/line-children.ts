// Starting the retrying publisher and settling consumer as real child
// processes and keeping what they print. `node --import tsx file` (not npx)
// so a signal reaches the process itself.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { RetryLine } from "./proc/retry-lines";

export interface LineChild {
  name: string;
  proc: ChildProcess;
  lines: RetryLine[];
  /** Last lines of stderr, for problem reports. */
  stderr: string[];
  /** Set once the process exited. */
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  exited: Promise<void>;
  /** Resolves when the child printed its ready line. */
  ready: Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; true when it exited on its own terms. */
  stop(graceMs?: number): Promise<boolean>;
}

const PROC_DIR = path.join(__dirname, "proc");

export function startLineChild(
  name: string,
  fixture: "retrying-publisher" | "settling-consumer",
  config: object,
  opts: { preload?: string; env?: Record<string, string>; onLine?: (line: RetryLine, child: LineChild) => void } = {},
): LineChild {
  const preload = opts.preload ? ["--import", pathToFileURL(path.join(PROC_DIR, opts.preload)).href] : [];
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", ...preload, path.join(PROC_DIR, `${fixture}.ts`), JSON.stringify(config)],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } },
  );
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  ready.catch(() => {});
  const child: LineChild = {
    name,
    proc,
    lines: [],
    stderr: [],
    ready,
    exited: new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        child.exit = { code, signal };
        readyReject(new Error(`${name} exited (${code ?? signal}) before it was ready: ${child.stderr.join(" | ")}`));
        resolve();
      });
    }),
    async stop(graceMs = 15_000) {
      if (child.exit) return false;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await child.exited;
      clearTimeout(timer);
      // Narrowed to undefined above, though the exit handler has set it since.
      return (child.exit as LineChild["exit"])?.code === 0;
    },
  };
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (text) => {
    let line: RetryLine;
    try {
      line = JSON.parse(text) as RetryLine;
    } catch {
      return;
    }
    child.lines.push(line);
    if (line.t === "ready") readyResolve();
    opts.onLine?.(line, child);
  });
  createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on("line", (text) => {
    child.stderr.push(text);
    if (child.stderr.length > 20) child.stderr.shift();
  });
  return child;
}

/** Problems with a child's life: crashes, fatal lines, exits before it was told to stop. */
export function childProblems(children: LineChild[]): string[] {
  const out: string[] = [];
  for (const c of children) {
    for (const l of c.lines)
      if (l.t === "fatal") out.push(`${c.name} crashed: ${l.error.split("\n").slice(0, 4).join(" ")}`);
    if (c.exit && c.exit.code !== 0)
      out.push(`${c.name} exited with ${c.exit.code ?? c.exit.signal}; stderr: ${c.stderr.slice(-5).join(" | ")}`);
  }
  return out;
}

export function publishRecords(children: LineChild[]) {
  return children.flatMap((c) => c.lines.flatMap((l) => (l.t === "pub" ? [l.record] : [])));
}

export function deliveryLines(children: LineChild[]) {
  return children.flatMap((c) => c.lines.flatMap((l) => (l.t === "del" ? [l] : [])));
}

/** Kills every child still running: the cleanup of a scenario that failed half-way. */
export async function killAll(children: LineChild[]): Promise<void> {
  for (const c of children) if (!c.exit) c.proc.kill("SIGKILL");
  await Promise.all(children.map((c) => c.exited));
}

/** Polls `check` until it is true or `timeoutMs` passed; false on timeout (the checks then say what is missing). */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
