// What the run's parts share with the cleanup and the report: the problems
// and notes found, the workers, the database, and whether a signal came.
import type { ChildProcess } from "node:child_process";
import type { Pipeline } from "@/server/pipeline";
import { type BenchDatabase, sleep } from "./lib";

/** Library or runner misbehaviour: printed at the end, and the exit code is 1. */
export const problems: string[] = [];
/** Measurement caveats: printed, never an error. */
export const notes: string[] = [];

export interface WorkerProc {
  index: number;
  pid: number;
  child: ChildProcess;
  exited: Promise<void>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** Set once the bench asked it to stop: an exit before that is a failure. */
  stopping: boolean;
  stopMs?: number;
}

export const state: {
  db?: BenchDatabase;
  pipeline?: Pipeline;
  buildDir?: string;
  workers: WorkerProc[];
  signalled?: NodeJS.Signals;
  captureStop: boolean;
} = { workers: [], captureStop: false };

export class Aborted extends Error {}

export function checkAbort() {
  if (state.signalled) throw new Aborted(state.signalled);
  for (const w of state.workers) {
    if (w.exit && !w.stopping) {
      throw new Error(
        `worker ${w.index} (pid ${w.pid}) exited unexpectedly (code ${w.exit.code}, signal ${w.exit.signal})${workerLogTail()}`,
      );
    }
  }
}

/** Sleeps in short steps, so a signal or a dead worker ends the wait at once. */
export async function sleepChecked(ms: number) {
  const until = performance.now() + ms;
  for (;;) {
    checkAbort();
    const left = until - performance.now();
    if (left <= 0) return;
    await sleep(Math.min(250, left));
  }
}

/** What the workers wrote on stderr (JSON log lines), counted by level and message. */
export const workerLogs = { counts: new Map<string, number>(), unparsed: [] as string[], stdout: [] as string[] };

export function workerLogTail(): string {
  const lines = [...workerLogs.unparsed.slice(-10), ...workerLogs.stdout.slice(-4)];
  return lines.length === 0 ? "" : `\n  ${lines.join("\n  ")}`;
}
