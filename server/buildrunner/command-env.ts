// The environment a command build's process gets: an allow-list of the
// worker's variables, what its queue passes or sets, and the build's own.
import type { CommandQueueConfig } from "./command-options";

/**
 * What a build inherits from the worker's environment without being told:
 * enough to run a shell. Never the worker's DATABASE_URL (root on the
 * database: code run by a build could make itself an operator) or its
 * tokens; a queue that needs more names it in `passEnv` or sets it in `env`.
 */
export const BUILD_ENV_INHERITED = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
  "USER",
  "LOGNAME",
  "SHELL",
];

/** The environment of a build's process: the allow-list, what the queue passes or sets, and the build's own variables. */
export function buildEnvironment(
  qc: Pick<CommandQueueConfig, "env" | "passEnv">,
  own: Record<string, string>,
  from: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: Record<string, string> = {};
  for (const name of [...BUILD_ENV_INHERITED, ...(qc.passEnv ?? [])]) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  // Next.js declares NODE_ENV as always set; a build's environment need not have it.
  return { ...env, ...qc.env, ...own } as NodeJS.ProcessEnv;
}
