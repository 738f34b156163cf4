// The command runner's rows in command_builds: every read and write of a
// build's state goes through here, so `status` answers from any process.
// Each transition's write names the states it may leave, so two runners
// that race on one build never both move it.
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { type Db, NOW_MS } from "@/db/client";
import { commandBuilds } from "@/db/schema";
import { processStartTime } from "./process-info";
import { type BuildStatus, UnknownBuildError } from "./types";

export type CommandBuildRow = typeof commandBuilds.$inferSelect;

export interface FinishFields {
  reason?: string;
  exitCode?: number;
  outputTail?: string;
}

export class CommandBuildRows {
  /** Built once: every status call reads its row, and building the query each time cost more than running it. */
  private loadQuery?: ReturnType<typeof prepareLoad>;

  constructor(private readonly db: Db) {}

  /** A new accepted build; a second insert of the same id or idempotency key changes nothing. */
  async insertAccepted(row: {
    id: string;
    idempotencyKey: string | null;
    queue: string;
    command: string;
    spec: string;
    host: string;
    workDir: string;
  }): Promise<void> {
    await this.db
      .insert(commandBuilds)
      .values({ ...row, status: "accepted", createdAt: NOW_MS })
      .onDuplicateKeyUpdate({ set: { id: sql`id` } });
  }

  async byKey(key: string): Promise<CommandBuildRow | undefined> {
    const [row] = await this.db.select().from(commandBuilds).where(eq(commandBuilds.idempotencyKey, key));
    return row;
  }

  async load(id: string): Promise<CommandBuildRow> {
    this.loadQuery ??= prepareLoad(this.db);
    const [row] = await this.loadQuery.execute({ id });
    if (!row) throw new UnknownBuildError(id);
    return row;
  }

  /** This host's builds that have not finished. */
  unfinishedOn(host: string): Promise<CommandBuildRow[]> {
    return this.db
      .select()
      .from(commandBuilds)
      .where(and(eq(commandBuilds.host, host), inArray(commandBuilds.status, ["accepted", "running"])));
  }

  /** Takes the launch of an accepted build on `host` for `launcher`; false when someone else has it. */
  async claimLaunch(id: string, host: string, launcher: string): Promise<boolean> {
    const [claim] = await this.db
      .update(commandBuilds)
      .set({ launcher })
      .where(
        and(
          eq(commandBuilds.id, id),
          eq(commandBuilds.host, host),
          isNull(commandBuilds.launcher),
          eq(commandBuilds.status, "accepted"),
        ),
      );
    return claim.affectedRows > 0;
  }

  /** Gives back the launch claim `launcher` holds on an accepted build; true for the one caller that did. */
  async releaseLaunch(id: string, launcher: string): Promise<boolean> {
    const [released] = await this.db
      .update(commandBuilds)
      .set({ launcher: null })
      .where(and(eq(commandBuilds.id, id), eq(commandBuilds.launcher, launcher), eq(commandBuilds.status, "accepted")));
    return released.affectedRows === 1;
  }

  /** Accepted → running with its process; false when it was no longer accepted (cancelled meanwhile). */
  async markRunning(id: string, pid: number): Promise<boolean> {
    const [started] = await this.db
      .update(commandBuilds)
      .set({ status: "running", pid, procStart: processStartTime(pid) ?? null, startedAt: NOW_MS, checkedAt: NOW_MS })
      .where(and(eq(commandBuilds.id, id), eq(commandBuilds.status, "accepted")));
    return started.affectedRows > 0;
  }

  async requestCancel(id: string): Promise<void> {
    await this.db.update(commandBuilds).set({ cancelRequested: 1 }).where(eq(commandBuilds.id, id));
  }

  /** Moves a build in one of the `from` states to its end (only one that never got a process, with `onlyUnlaunched`). */
  async finish(
    id: string,
    status: BuildStatus,
    fields: FinishFields,
    from: BuildStatus[],
    onlyUnlaunched: boolean,
  ): Promise<void> {
    await this.db
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

  /** How long ago the build was created, started and last checked, ms on the database's clock. */
  async ages(id: string) {
    const [age] = await this.db
      .select({
        sinceCreated: sql<number>`${NOW_MS} - ${commandBuilds.createdAt}`,
        sinceStarted: sql<number | null>`${NOW_MS} - ${commandBuilds.startedAt}`,
        sinceChecked: sql<number | null>`${NOW_MS} - ${commandBuilds.checkedAt}`,
      })
      .from(commandBuilds)
      .where(eq(commandBuilds.id, id));
    return age;
  }

  /** One statement however many builds run: other hosts read checked_at as "still watched". */
  async markChecked(ids: string[]): Promise<void> {
    await this.db.update(commandBuilds).set({ checkedAt: NOW_MS }).where(inArray(commandBuilds.id, ids));
  }
}

const prepareLoad = (db: Db) =>
  db
    .select()
    .from(commandBuilds)
    .where(eq(commandBuilds.id, sql.placeholder("id")))
    .prepare();
