// The command runner: one shell command per queue, run as a real process.
//
// The process runs detached from the worker (its own process group) through a
// small wrapper that writes the command's exit code to a file, so a build
// outlives the worker that started it: after a crash or a restart any worker
// on the same host reads the outcome from the file. State lives in the
// command_builds table, so `status` answers from any process. A build whose
// process vanished without an exit code, or whose host stopped checking on
// it, is reported failed with that reason, never left running forever.

import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { type Db, NOW_MS } from "../../db/client";
import { commandBuilds } from "../../db/schema";
import { isSameProcessAlive, processStartTime, signalGroup } from "./process-info";
import {
  type BuildID,
  type BuildMetadata,
  type BuildRunner,
  type BuildStatus,
  type Change,
  IDEMPOTENCY_KEY,
  isTerminal,
  UnknownBuildError,
} from "./types";

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

const OUTPUT_TAIL_BYTES = 4096;

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

// `sh -c "$SLUICE_CMD"` runs the configured command. Before it, the wrapper
// takes the build's `started` directory (mkdir is atomic, so a second wrapper
// of the same build stops there: a build never runs twice) and writes its pid,
// so a runner can find a process whose launcher died before recording it. The
// pid and exit files are written atomically (tmp + mv): a reader never sees half.
const WRAPPER =
  'mkdir "$SLUICE_STARTED" 2>/dev/null || exit 0; echo $$ >"$SLUICE_PID.tmp" && mv "$SLUICE_PID.tmp" "$SLUICE_PID"; ' +
  'sh -c "$SLUICE_CMD" >"$SLUICE_LOG" 2>&1 </dev/null; echo $? >"$SLUICE_EXIT.tmp" && mv "$SLUICE_EXIT.tmp" "$SLUICE_EXIT"';

type Row = typeof commandBuilds.$inferSelect;

export class CommandRunner implements BuildRunner {
  readonly kind = "command";
  private readonly host = hostname();
  /** Writes this runner has made to command_builds rows; `refresh` reads a row again only when it moved. */
  private changes = 0;
  /** This runner in `launcher` claims: pid and start time let runners on the host tell whether it is still alive. */
  private readonly instance = `${process.pid}:${processStartTime(process.pid) ?? "?"}:${randomUUID()}`;
  private timer?: NodeJS.Timeout;
  private supervising?: Promise<void>;
  private readonly opts: Required<Omit<CommandRunnerOptions, "db" | "queues" | "workRoot">>;

  constructor(private readonly cfg: CommandRunnerOptions) {
    this.opts = {
      superviseIntervalMs: cfg.superviseIntervalMs ?? 1_000,
      cancelGraceMs: cfg.cancelGraceMs ?? 5_000,
      staleAfterMs: cfg.staleAfterMs ?? 60_000,
      launchTimeoutMs: cfg.launchTimeoutMs ?? 60_000,
    };
  }

  /** Starts watching this host's builds: launches, exits, cancels, timeouts. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.supervising ??= this.supervise()
        .catch(() => {})
        .finally(() => {
          this.supervising = undefined;
        });
    }, this.opts.superviseIntervalMs);
    this.timer.unref();
  }

  /** Stops watching. Build processes keep running; another worker picks them up. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.supervising;
  }

  async trigger(queue: string, base: Change[], head: Change[], metadata: BuildMetadata = {}): Promise<BuildID> {
    const qc = this.cfg.queues[queue];
    if (!qc) throw new Error(`no command is configured for queue "${queue}"`);
    const key = metadata[IDEMPOTENCY_KEY] ?? null;
    if (key) {
      const existing = await this.byKey(key);
      if (existing) return { id: existing.id };
    }
    const id = `cmd-${randomUUID()}`;
    await this.cfg.db
      .insert(commandBuilds)
      .values({
        id,
        idempotencyKey: key,
        queue,
        command: qc.command,
        spec: JSON.stringify({ base, head, metadata }),
        status: "accepted",
        host: this.host,
        workDir: path.join(this.cfg.workRoot, id),
        createdAt: NOW_MS,
      })
      .onDuplicateKeyUpdate({ set: { id: sql`id` } });
    if (key) {
      // A concurrent trigger with the same key may have won the insert: its build is the one.
      const stored = await this.byKey(key);
      if (stored && stored.id !== id) return { id: stored.id };
    }
    // Returns before the process starts; status says accepted until it does.
    void this.launch(id).catch(() => {});
    return { id };
  }

  async status(id: BuildID): Promise<{ status: BuildStatus; metadata: BuildMetadata }> {
    let row = await this.load(id.id);
    if (!isTerminal(row.status as BuildStatus)) row = await this.refresh(row);
    return { status: row.status as BuildStatus, metadata: metadataOf(row) };
  }

  async cancel(id: BuildID): Promise<void> {
    const row = await this.load(id.id);
    if (isTerminal(row.status as BuildStatus)) return;
    await this.cfg.db.update(commandBuilds).set({ cancelRequested: 1 }).where(eq(commandBuilds.id, row.id));
    // Never started: it is cancelled now (the launcher checks for this before it starts).
    await this.finish(row.id, "cancelled", { reason: "cancelled before it started" }, ["accepted"], true);
    if (row.host === this.host && row.pid) this.kill(row.pid);
  }

  private async byKey(key: string) {
    const [row] = await this.cfg.db.select().from(commandBuilds).where(eq(commandBuilds.idempotencyKey, key));
    return row;
  }

  /** Built once: every status call reads its row, and building the query each time cost more than running it. */
  private loadQuery?: ReturnType<typeof prepareLoad>;

  private async load(id: string): Promise<Row> {
    this.loadQuery ??= prepareLoad(this.cfg.db);
    const [row] = await this.loadQuery.execute({ id });
    if (!row) throw new UnknownBuildError(id);
    return row;
  }

  /** Claims and starts an accepted build on this host. */
  private async launch(id: string): Promise<void> {
    this.changes++;
    const [claim] = await this.cfg.db
      .update(commandBuilds)
      .set({ launcher: this.instance })
      .where(
        and(
          eq(commandBuilds.id, id),
          eq(commandBuilds.host, this.host),
          isNull(commandBuilds.launcher),
          eq(commandBuilds.status, "accepted"),
        ),
      );
    if (claim.affectedRows === 0) return;
    const row = await this.load(id);
    const qc = this.cfg.queues[row.queue];
    if (!qc) {
      await this.finish(id, "failed", { reason: `no command is configured for queue "${row.queue}"` }, ["accepted"]);
      return;
    }
    const spec = JSON.parse(row.spec) as { base: Change[]; head: Change[]; metadata: BuildMetadata };
    await mkdir(row.workDir, { recursive: true });
    const buildFile = path.join(row.workDir, "build.json");
    await writeFile(buildFile, JSON.stringify({ id, queue: row.queue, ...spec }, null, 2));
    const child = spawn("/bin/sh", ["-c", WRAPPER], {
      cwd: qc.cwd ?? row.workDir,
      detached: true,
      stdio: "ignore",
      env: buildEnvironment(qc, {
        SLUICE_CMD: qc.command,
        SLUICE_LOG: path.join(row.workDir, "output.log"),
        SLUICE_EXIT: path.join(row.workDir, "exit"),
        SLUICE_STARTED: path.join(row.workDir, "started"),
        SLUICE_PID: path.join(row.workDir, "pid"),
        SLUICE_BUILD_ID: id,
        SLUICE_QUEUE: row.queue,
        SLUICE_BASE: JSON.stringify(spec.base),
        SLUICE_HEAD: JSON.stringify(spec.head),
        SLUICE_METADATA: JSON.stringify(spec.metadata),
        SLUICE_BUILD_FILE: buildFile,
      }),
    });
    const pid = child.pid;
    child.unref();
    if (pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once("error", resolve));
      await this.finish(id, "failed", { reason: `could not start /bin/sh: ${err.message}` }, ["accepted"]);
      return;
    }
    const [started] = await this.cfg.db
      .update(commandBuilds)
      .set({ status: "running", pid, procStart: processStartTime(pid) ?? null, startedAt: NOW_MS, checkedAt: NOW_MS })
      .where(and(eq(commandBuilds.id, id), eq(commandBuilds.status, "accepted")));
    // Cancelled while it was being started.
    if (started.affectedRows === 0) this.kill(pid);
  }

  private kill(pid: number) {
    if (!signalGroup(pid, "SIGTERM")) return;
    setTimeout(() => signalGroup(pid, "SIGKILL"), this.opts.cancelGraceMs).unref();
  }

  /**
   * Inspects a non-terminal build and returns its row as it is now: read
   * again only when this runner changed a build meanwhile (a running build
   * whose process is alive costs no second read).
   */
  private async refresh(row: Row): Promise<Row> {
    const before = this.changes;
    await this.inspect(row);
    return this.changes === before ? row : this.load(row.id);
  }

  /**
   * Looks at a non-terminal build and records what it finds. On this host:
   * the exit file, then the process. Elsewhere: only whether that host has
   * checked recently. Returns true when its process is alive here.
   */
  private async inspect(row: Row): Promise<boolean> {
    if (row.host !== this.host) {
      const [age] = await this.ages(row.id);
      const since = row.status === "accepted" ? age?.sinceCreated : age?.sinceChecked;
      if (since !== undefined && since !== null && since > this.opts.staleAfterMs) {
        await this.finish(row.id, "failed", {
          reason: `no worker on host ${row.host} has checked this build for ${Math.round(since / 1000)} s`,
        });
      }
      return false;
    }
    if (row.status === "accepted") {
      if (!row.launcher) await this.launch(row.id);
      else if (!launcherAlive(row.launcher)) await this.recoverLaunch(row);
      else {
        const [age] = await this.ages(row.id);
        if (Number(age?.sinceCreated) > this.opts.launchTimeoutMs) {
          await this.finish(row.id, "failed", { reason: "the build process never started" }, ["accepted"]);
        }
      }
      return false;
    }
    const exit = await this.readExit(row);
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
    const late = await this.readExit(row);
    if (late !== undefined) await this.finishWithExit(row, late);
    else if (row.cancelRequested)
      await this.finish(row.id, "cancelled", { reason: "cancelled", outputTail: await this.tail(row) });
    else
      await this.finish(row.id, "failed", {
        reason: "the build process ended without an exit status (killed, or its host restarted)",
        outputTail: await this.tail(row),
      });
    return false;
  }

  /**
   * An accepted build whose launcher died (a worker killed mid-launch): it
   * finished, or it is running unrecorded, or it never started. Nobody else
   * will look after it, so take it over, or start it.
   */
  private async recoverLaunch(row: Row) {
    this.changes++;
    const exit = await this.readExit(row);
    if (exit !== undefined) return this.finishWithExit(row, exit);
    const pid = await this.readNumber(path.join(row.workDir, "pid"));
    if (pid !== undefined) {
      await this.cfg.db
        .update(commandBuilds)
        .set({ status: "running", pid, procStart: processStartTime(pid) ?? null, startedAt: NOW_MS, checkedAt: NOW_MS })
        .where(and(eq(commandBuilds.id, row.id), eq(commandBuilds.status, "accepted")));
      return;
    }
    // One runner wins the release; its launch claims the build afresh.
    const [released] = await this.cfg.db
      .update(commandBuilds)
      .set({ launcher: null })
      .where(
        and(
          eq(commandBuilds.id, row.id),
          eq(commandBuilds.launcher, row.launcher ?? ""),
          eq(commandBuilds.status, "accepted"),
        ),
      );
    if (released.affectedRows === 1) await this.launch(row.id);
  }

  private async enforceTimeout(row: Row) {
    const limit = this.cfg.queues[row.queue]?.timeoutMs;
    if (!limit || !row.pid) return;
    const [age] = await this.ages(row.id);
    if (Number(age?.sinceStarted) <= limit) return;
    await this.finish(row.id, "failed", { reason: `timed out after ${limit} ms` });
    this.kill(row.pid);
  }

  private async finishWithExit(row: Row, code: number) {
    const outputTail = await this.tail(row);
    if (row.cancelRequested)
      await this.finish(row.id, "cancelled", { reason: "cancelled", exitCode: code, outputTail });
    else if (code === 0) await this.finish(row.id, "succeeded", { exitCode: code, outputTail });
    else await this.finish(row.id, "failed", { reason: `exited with code ${code}`, exitCode: code, outputTail });
  }

  private async finish(
    id: string,
    status: BuildStatus,
    fields: { reason?: string; exitCode?: number; outputTail?: string },
    from: BuildStatus[] = ["accepted", "running"],
    onlyUnlaunched = false,
  ) {
    this.changes++;
    await this.cfg.db
      .update(commandBuilds)
      .set({
        status,
        reason: fields.reason ?? null,
        exitCode: fields.exitCode ?? null,
        outputTail: fields.outputTail ?? null,
        finishedAt: NOW_MS,
      })
      .where(
        and(
          eq(commandBuilds.id, id),
          inArray(commandBuilds.status, from),
          onlyUnlaunched ? isNull(commandBuilds.pid) : undefined,
        ),
      );
  }

  private async ages(id: string) {
    return this.cfg.db
      .select({
        sinceCreated: sql<number>`${NOW_MS} - ${commandBuilds.createdAt}`,
        sinceStarted: sql<number | null>`${NOW_MS} - ${commandBuilds.startedAt}`,
        sinceChecked: sql<number | null>`${NOW_MS} - ${commandBuilds.checkedAt}`,
      })
      .from(commandBuilds)
      .where(eq(commandBuilds.id, id));
  }

  private readExit(row: Row): Promise<number | undefined> {
    return this.readNumber(path.join(row.workDir, "exit"));
  }

  private async readNumber(file: string): Promise<number | undefined> {
    if (!existsSync(file)) return undefined;
    const text = (await readFile(file, "utf8")).trim();
    const n = Number.parseInt(text, 10);
    return Number.isNaN(n) ? undefined : n;
  }

  private async tail(row: Row): Promise<string> {
    try {
      const fh = await open(path.join(row.workDir, "output.log"), "r");
      try {
        const { size } = await fh.stat();
        const start = Math.max(0, size - OUTPUT_TAIL_BYTES);
        const buf = Buffer.alloc(size - start);
        await fh.read(buf, 0, buf.length, start);
        return buf.toString("utf8");
      } finally {
        await fh.close();
      }
    } catch {
      return "";
    }
  }

  /** One pass over this host's unfinished builds. */
  private async supervise() {
    const rows = await this.cfg.db
      .select()
      .from(commandBuilds)
      .where(and(eq(commandBuilds.host, this.host), inArray(commandBuilds.status, ["accepted", "running"])));
    const alive: string[] = [];
    for (const row of rows) if (await this.inspect(row)) alive.push(row.id);
    // One statement per pass, however many builds run: other hosts read it as "still watched".
    if (alive.length > 0) {
      await this.cfg.db.update(commandBuilds).set({ checkedAt: NOW_MS }).where(inArray(commandBuilds.id, alive));
    }
  }
}

/** Whether the runner that claimed a launch still runs; a claim that names no process counts as alive. */
function launcherAlive(launcher: string): boolean {
  const [pid, start] = launcher.split(":");
  if (!pid || !start || start === "?" || !/^\d+$/.test(pid)) return true;
  return isSameProcessAlive(Number(pid), start);
}

/**
 * What the console shows of a build, to viewers too: no absolute paths of the
 * server and no pids (command_builds keeps both, for the runner itself).
 */
function metadataOf(row: Row): BuildMetadata {
  const m: BuildMetadata = { runner: "command", queue: row.queue };
  if (row.exitCode !== null) m.exitCode = String(row.exitCode);
  if (row.reason) m.reason = row.reason;
  if (row.outputTail) m.outputTail = row.outputTail;
  return m;
}

const prepareLoad = (db: Db) =>
  db
    .select()
    .from(commandBuilds)
    .where(eq(commandBuilds.id, sql.placeholder("id")))
    .prepare();
