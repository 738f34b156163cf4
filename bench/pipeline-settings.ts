// bench:pipeline's settings: the command-line flags and what the run derives
// from them (timeouts, warm-up, capture and sample intervals).

export interface Settings {
  server: string;
  builds: number;
  seconds: number;
  workers: number;
  runningMs: number;
  acceptedMs: number;
}

export const USAGE = "usage: npm run bench:pipeline [-- --builds N] [--seconds N] [--workers N] [--running-ms N]";

/** The flags and their limits (--running-ms: what SLUICE_POLL_RUNNING_MS accepts). */
const FLAGS = {
  "--builds": { key: "builds", min: 1, max: 10_000 },
  "--seconds": { key: "seconds", min: 5, max: 3_600 },
  "--workers": { key: "workers", min: 1, max: 32 },
  "--running-ms": { key: "runningMs", min: 10, max: 3_600_000 },
} as const;

export function parseArgs(argv: string[]): Settings {
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

export class UsageError extends Error {}

/** Most builds requested at once. */
export const REQUEST_CONCURRENCY = 10;
/** How long a worker may take to print its ready line, ms. */
export const WORKER_READY_TIMEOUT_MS = 60_000;
/** How long every build may take to reach `running`, ms. */
export const RUNNING_TIMEOUT_MS = 300_000;
/** How long a worker may take to stop after SIGTERM before it is killed, ms. */
export const WORKER_STOP_TIMEOUT_MS = 30_000;

export const warmUpMs = (s: Settings) => Math.max(5_000, 2 * s.runningMs);
/** Often enough that a consumed poll row is read before a GC pass can delete it (it lives at least runningMs). */
export const captureEveryMs = (s: Settings) => Math.min(1_000, Math.max(50, Math.floor(s.runningMs / 2)));
export const sampleEveryMs = (s: Settings) => (s.seconds >= 60 ? 10_000 : 5_000);
/** Each build's command: outlasts everything up to the end of the window, and dies with the cleanup. */
export const sleepSeconds = (s: Settings) =>
  Math.ceil((WORKER_READY_TIMEOUT_MS + RUNNING_TIMEOUT_MS + warmUpMs(s)) / 1000) + s.seconds + 300;
/** Status calls per build per minute the configuration asks for. */
export const cadencePerMin = (s: Settings) => 60_000 / s.runningMs;

export const QUEUE_NAME = "bench";
/** How often the statement profiler samples PROCESSLIST, ms. */
export const PROFILE_EVERY_MS = 50;
