// A command build's process: started detached (its own process group)
// through a small shell wrapper, so it outlives the worker that started it,
// and stopped by signalling its whole group.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { buildEnvironment } from "./command-env";
import { buildFiles } from "./command-files";
import type { CommandQueueConfig } from "./command-options";
import { isSameProcessAlive, processStartTime, signalGroup } from "./process-info";
import type { BuildMetadata, Change } from "./types";

// `sh -c "$SLUICE_CMD"` runs the configured command. Before it, the wrapper
// takes the build's `started` directory (mkdir is atomic, so a second wrapper
// of the same build stops there: a build never runs twice) and writes its pid,
// so a runner can find a process whose launcher died before recording it. The
// pid and exit files are written atomically (tmp + mv): a reader never sees half.
const WRAPPER =
  'mkdir "$SLUICE_STARTED" 2>/dev/null || exit 0; echo $$ >"$SLUICE_PID.tmp" && mv "$SLUICE_PID.tmp" "$SLUICE_PID"; ' +
  'sh -c "$SLUICE_CMD" >"$SLUICE_LOG" 2>&1 </dev/null; echo $? >"$SLUICE_EXIT.tmp" && mv "$SLUICE_EXIT.tmp" "$SLUICE_EXIT"';

export interface BuildSpec {
  base: Change[];
  head: Change[];
  metadata: BuildMetadata;
}

/** Starts the wrapper for a build; its pid, or why /bin/sh could not start. */
export async function spawnBuild(
  qc: CommandQueueConfig,
  build: { id: string; queue: string; workDir: string },
  spec: BuildSpec,
  specFile: string,
): Promise<{ pid: number } | { error: Error }> {
  const files = buildFiles(build.workDir);
  const child = spawn("/bin/sh", ["-c", WRAPPER], {
    cwd: qc.cwd ?? build.workDir,
    detached: true,
    stdio: "ignore",
    env: buildEnvironment(qc, {
      SLUICE_CMD: qc.command,
      SLUICE_LOG: files.log,
      SLUICE_EXIT: files.exit,
      SLUICE_STARTED: files.started,
      SLUICE_PID: files.pid,
      SLUICE_BUILD_ID: build.id,
      SLUICE_QUEUE: build.queue,
      SLUICE_BASE: JSON.stringify(spec.base),
      SLUICE_HEAD: JSON.stringify(spec.head),
      SLUICE_METADATA: JSON.stringify(spec.metadata),
      SLUICE_BUILD_FILE: specFile,
    }),
  });
  const pid = child.pid;
  child.unref();
  if (pid !== undefined) return { pid };
  return { error: await new Promise<Error>((resolve) => child.once("error", resolve)) };
}

/** SIGTERM to the build's process group, SIGKILL after `graceMs` if the group still exists then. */
export function stopBuildProcess(pid: number, graceMs: number): void {
  if (!signalGroup(pid, "SIGTERM")) return;
  setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs).unref();
}

/** A runner's name in `launcher` claims: pid and start time let runners on the host tell whether it is still alive. */
export function launcherId(): string {
  return `${process.pid}:${processStartTime(process.pid) ?? "?"}:${randomUUID()}`;
}

/** Whether the runner that claimed a launch still runs; a claim that names no process counts as alive. */
export function launcherAlive(launcher: string): boolean {
  const [pid, start] = launcher.split(":");
  if (!pid || !start || start === "?" || !/^\d+$/.test(pid)) return true;
  return isSameProcessAlive(Number(pid), start);
}
