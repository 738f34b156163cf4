// The command build's state machine: accepted → (launch claimed) → running →
// succeeded / failed / cancelled. A runner moves a build only from what it
// finds: the row, the build's files, and whether its process is alive on
// this host. A build whose process vanished without an exit code, or whose
// host stopped checking on it, is failed with that reason, never left running
// forever.
import { readExitCode, readOutputTail, readPid, wrapperStarted, writeBuildSpec } from "./command-files";
import type { CommandQueueConfig, CommandTimings } from "./command-options";
import { type BuildSpec, launcherAlive, launcherId, spawnBuild, stopBuildProcess } from "./command-process";
import type { CommandBuildRow, CommandBuildRows, FinishFields } from "./command-rows";
import { isSameProcessAlive } from "./process-info";
import type { BuildStatus } from "./types";

export class CommandLifecycle {
  /** Writes this runner has made to command_builds rows; `refresh` reads a row again only when it moved. */
  private changes = 0;
  /** This runner in `launcher` claims. */
  private readonly instance = launcherId();

  constructor(
    private readonly rows: CommandBuildRows,
    private readonly queues: Record<string, CommandQueueConfig>,
    private readonly host: string,
    private readonly timings: CommandTimings,
  ) {}

  /** Claims and starts an accepted build on this host. */
  async launch(id: string): Promise<void> {
    this.changes++;
    if (!(await this.rows.claimLaunch(id, this.host, this.instance))) return;
    const row = await this.rows.load(id);
    const qc = this.queues[row.queue];
    if (!qc) {
      await this.finish(id, "failed", { reason: `no command is configured for queue "${row.queue}"` }, ["accepted"]);
      return;
    }
    const spec = JSON.parse(row.spec) as BuildSpec;
    const specFile = await writeBuildSpec(row.workDir, { id, queue: row.queue, ...spec });
    const started = await spawnBuild(qc, { id, queue: row.queue, workDir: row.workDir }, spec, specFile);
    if ("error" in started) {
      await this.finish(id, "failed", { reason: `could not start /bin/sh: ${started.error.message}` }, ["accepted"]);
      return;
    }
    // Cancelled while it was being started.
    if (!(await this.rows.markRunning(id, started.pid))) this.kill(started.pid);
  }

  kill(pid: number) {
    stopBuildProcess(pid, this.timings.cancelGraceMs);
  }

  /**
   * Inspects a non-terminal build and returns its row as it is now: read
   * again only when this runner changed a build meanwhile (a running build
   * whose process is alive costs no second read).
   */
  async refresh(row: CommandBuildRow): Promise<CommandBuildRow> {
    const before = this.changes;
    await this.inspect(row);
    return this.changes === before ? row : this.rows.load(row.id);
  }

  /**
   * Looks at a non-terminal build and records what it finds. On this host:
   * the exit file, then the process. Elsewhere: only whether that host has
   * checked recently. Returns true when its process is alive here.
   */
  async inspect(row: CommandBuildRow): Promise<boolean> {
    if (row.host !== this.host) {
      const age = await this.rows.ages(row.id);
      const since = row.status === "accepted" ? age?.sinceCreated : age?.sinceChecked;
      if (since !== undefined && since !== null && since > this.timings.staleAfterMs) {
        await this.finish(row.id, "failed", {
          reason: `no worker on host ${row.host} has checked this build for ${Math.round(since / 1000)} s`,
        });
      }
      return false;
    }
    if (row.status === "accepted") {
      if (!row.launcher) await this.launch(row.id);
      else if (!launcherAlive(row.launcher)) await this.recoverLaunch(row);
      else await this.failIfNeverStarted(row.id);
      return false;
    }
    const exit = await readExitCode(row.workDir);
    if (exit !== undefined) {
      await this.finishWithExit(row, exit);
      return false;
    }
    if (row.pid && isSameProcessAlive(row.pid, row.procStart)) {
      if (row.cancelRequested) this.kill(row.pid);
      else await this.enforceTimeout(row);
      return true;
    }
    // Gone: it may have written its exit file between the two looks.
    const late = await readExitCode(row.workDir);
    if (late !== undefined) await this.finishWithExit(row, late);
    else if (row.cancelRequested)
      await this.finish(row.id, "cancelled", { reason: "cancelled", outputTail: await readOutputTail(row.workDir) });
    else
      await this.finish(row.id, "failed", {
        reason: "the build process ended without an exit status (killed, or its host restarted)",
        outputTail: await readOutputTail(row.workDir),
      });
    return false;
  }

  /**
   * An accepted build whose launcher died (a worker killed mid-launch): it
   * finished, or it is running unrecorded, or it never started. Nobody else
   * will look after it, so take it over, or start it.
   */
  private async recoverLaunch(row: CommandBuildRow) {
    this.changes++;
    const exit = await readExitCode(row.workDir);
    if (exit !== undefined) return this.finishWithExit(row, exit);
    const pid = await readPid(row.workDir);
    if (pid !== undefined) {
      await this.rows.markRunning(row.id, pid);
      return;
    }
    // A wrapper took `started` but has not written its pid yet (or died between the two):
    // a second wrapper would stop at `started` without running anything, and the build would
    // look ended without an exit status. Look again next round; the launch timeout ends a
    // build whose wrapper never writes its pid.
    if (wrapperStarted(row.workDir)) return this.failIfNeverStarted(row.id);
    // One runner wins the release; its launch claims the build afresh.
    if (await this.rows.releaseLaunch(row.id, row.launcher ?? "")) await this.launch(row.id);
  }

  /** An accepted build with no process recorded past the launch timeout failed to start. */
  private async failIfNeverStarted(id: string) {
    const age = await this.rows.ages(id);
    if (Number(age?.sinceCreated) > this.timings.launchTimeoutMs) {
      await this.finish(id, "failed", { reason: "the build process never started" }, ["accepted"]);
    }
  }

  private async enforceTimeout(row: CommandBuildRow) {
    const limit = this.queues[row.queue]?.timeoutMs;
    if (!limit || !row.pid) return;
    const age = await this.rows.ages(row.id);
    if (Number(age?.sinceStarted) <= limit) return;
    await this.finish(row.id, "failed", { reason: `timed out after ${limit} ms` });
    this.kill(row.pid);
  }

  private async finishWithExit(row: CommandBuildRow, code: number) {
    const outputTail = await readOutputTail(row.workDir);
    if (row.cancelRequested)
      await this.finish(row.id, "cancelled", { reason: "cancelled", exitCode: code, outputTail });
    else if (code === 0) await this.finish(row.id, "succeeded", { exitCode: code, outputTail });
    else await this.finish(row.id, "failed", { reason: `exited with code ${code}`, exitCode: code, outputTail });
  }

  async finish(
    id: string,
    status: BuildStatus,
    fields: FinishFields,
    from: BuildStatus[] = ["accepted", "running"],
    onlyUnlaunched = false,
  ) {
    this.changes++;
    await this.rows.finish(id, status, fields, from, onlyUnlaunched);
  }
}
