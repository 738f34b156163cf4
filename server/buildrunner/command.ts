// The command runner: one shell command per queue, run as a real process.
//
// The process runs detached from the worker (its own process group) through a
// small wrapper that writes the command's exit code to a file, so a build
// outlives the worker that started it: after a crash or a restart any worker
// on the same host reads the outcome from the file. State lives in the
// command_builds table, so `status` answers from any process. The pieces:
// command-rows.ts (the table), command-lifecycle.ts (the state machine),
// command-process.ts and command-env.ts (the process and its environment),
// command-files.ts (the build's directory), command-supervisor.ts (the
// periodic pass over this host's builds).
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import path from "node:path";
import { CommandLifecycle } from "./command-lifecycle";
import { type CommandRunnerOptions, commandTimings } from "./command-options";
import { type CommandBuildRow, CommandBuildRows } from "./command-rows";
import { CommandSupervisor } from "./command-supervisor";
import {
  type BuildID,
  type BuildMetadata,
  type BuildRunner,
  type BuildStatus,
  type Change,
  IDEMPOTENCY_KEY,
  isTerminal,
} from "./types";

export class CommandRunner implements BuildRunner {
  readonly kind = "command";
  private readonly host = hostname();
  private readonly rows: CommandBuildRows;
  private readonly lifecycle: CommandLifecycle;
  private readonly supervisor: CommandSupervisor;

  constructor(private readonly cfg: CommandRunnerOptions) {
    const timings = commandTimings(cfg);
    this.rows = new CommandBuildRows(cfg.db);
    this.lifecycle = new CommandLifecycle(this.rows, cfg.queues, this.host, timings);
    this.supervisor = new CommandSupervisor(this.rows, this.lifecycle, this.host, timings.superviseIntervalMs);
  }

  /** Starts watching this host's builds: launches, exits, cancels, timeouts. */
  start(): void {
    this.supervisor.start();
  }

  /** Stops watching. Build processes keep running; another worker picks them up. */
  stop(): Promise<void> {
    return this.supervisor.stop();
  }

  async trigger(queue: string, base: Change[], head: Change[], metadata: BuildMetadata = {}): Promise<BuildID> {
    const qc = this.cfg.queues[queue];
    if (!qc) throw new Error(`no command is configured for queue "${queue}"`);
    const key = metadata[IDEMPOTENCY_KEY] ?? null;
    if (key) {
      const existing = await this.rows.byKey(key);
      if (existing) return { id: existing.id };
    }
    const id = `cmd-${randomUUID()}`;
    await this.rows.insertAccepted({
      id,
      idempotencyKey: key,
      queue,
      command: qc.command,
      spec: JSON.stringify({ base, head, metadata }),
      host: this.host,
      workDir: path.join(this.cfg.workRoot, id),
    });
    if (key) {
      // A concurrent trigger with the same key may have won the insert: its build is the one.
      const stored = await this.rows.byKey(key);
      if (stored && stored.id !== id) return { id: stored.id };
    }
    // Returns before the process starts; status says accepted until it does.
    void this.lifecycle.launch(id).catch(() => {});
    return { id };
  }

  async status(id: BuildID): Promise<{ status: BuildStatus; metadata: BuildMetadata }> {
    let row = await this.rows.load(id.id);
    if (!isTerminal(row.status)) row = await this.lifecycle.refresh(row);
    return { status: row.status, metadata: metadataOf(row) };
  }

  async cancel(id: BuildID): Promise<void> {
    const row = await this.rows.load(id.id);
    if (isTerminal(row.status)) return;
    await this.rows.requestCancel(row.id);
    // Never started: it is cancelled now (the launcher checks for this before it starts).
    await this.lifecycle.finish(row.id, "cancelled", { reason: "cancelled before it started" }, ["accepted"], true);
    if (row.host === this.host && row.pid) this.lifecycle.kill(row.pid);
  }
}

/**
 * What the console shows of a build, to viewers too: no absolute paths of the
 * server and no pids (command_builds keeps both, for the runner itself).
 */
function metadataOf(row: CommandBuildRow): BuildMetadata {
  const m: BuildMetadata = { runner: "command", queue: row.queue };
  if (row.exitCode !== null) m.exitCode = String(row.exitCode);
  if (row.reason) m.reason = row.reason;
  if (row.outputTail) m.outputTail = row.outputTail;
  return m;
}
