// How the command runner is configured: a shell command per queue, and the
// timings of the supervision that watches the builds on this host.
import type { Db } from "@/db/client";

export interface CommandQueueConfig {
  /** Run with /bin/sh -c. */
  command: string;
  /** Working directory; default: the build's own directory. */
  cwd?: string;
  /** Extra environment, given as values. */
  env?: Record<string, string>;
  /** Names of the worker's environment variables the build also gets (it gets none but BUILD_ENV_INHERITED otherwise). */
  passEnv?: string[];
  /** Kill the build and fail it after this long, ms. Default: none. */
  timeoutMs?: number;
}

export interface CommandRunnerOptions {
  db: Db;
  /** Queue name → command. */
  queues: Record<string, CommandQueueConfig>;
  /** Where each build gets a directory (build.json, output.log, exit). */
  workRoot: string;
  /** How often this process checks the builds on its host, ms. Default 1,000. */
  superviseIntervalMs?: number;
  /** From SIGTERM to SIGKILL on cancel, ms. Default 5,000. */
  cancelGraceMs?: number;
  /** A build its host has not checked for this long is failed, ms. Default 60,000. */
  staleAfterMs?: number;
  /** An accepted build not started within this long is failed, ms. Default 60,000. */
  launchTimeoutMs?: number;
}

export type CommandTimings = Required<Omit<CommandRunnerOptions, "db" | "queues" | "workRoot">>;

export function commandTimings(cfg: CommandRunnerOptions): CommandTimings {
  return {
    superviseIntervalMs: cfg.superviseIntervalMs ?? 1_000,
    cancelGraceMs: cfg.cancelGraceMs ?? 5_000,
    staleAfterMs: cfg.staleAfterMs ?? 60_000,
    launchTimeoutMs: cfg.launchTimeoutMs ?? 60_000,
  };
}
