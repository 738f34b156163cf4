// The pipeline's rows: batches, builds and their status history. Times are
// ms on the database's clock.
//
// Longer than our ~400-line rule, on purpose: one class, because `within(tx)`
// binds every method at once to a caller's transaction (a poll's ack, status
// record and next poll commit together). Split by table, each part would need
// that binding and the callers would juggle several stores per transaction.
import { randomUUID } from "node:crypto";
import { and, desc, eq, inArray, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { AnyMySqlColumn } from "drizzle-orm/mysql-core";
import type { Pool } from "mysql2/promise";
import { createDb, type Db, NOW_MS } from "@/db/client";
import { batches, buildQueueSlots, buildStatusHistory, builds } from "@/db/schema";
import { type BuildMetadata, type BuildStatus, type Change, isTerminal, WAITING_FOR } from "@/server/buildrunner/types";
import { classifyMysqlError, type QueueTx } from "@/server/queue";

export type BatchRow = typeof batches.$inferSelect;
export type BuildRow = typeof builds.$inferSelect;
/** What recordStatus tells of the build it recorded. */
export type RecordedBuild = Pick<BuildRow, "id" | "batchId" | "runner" | "status">;

/** A poll's answer for recordPolls. */
export interface PollAnswer {
  /** The build as the poll read it before asking its runner; not terminal. */
  seen: RecordedBuild;
  status: BuildStatus;
  metadata: BuildMetadata;
  /** The live poll generation the answer came from, moved to the next one; undefined: a push or a stale poll. */
  advanceFrom?: number;
}

export interface Batch {
  id: string;
  queue: string;
  base: Change[];
  head: Change[];
  metadata: BuildMetadata;
  requester: string;
  state: "pending" | "waiting" | "building" | "done";
  verdict: "succeeded" | "failed" | "cancelled" | null;
  createdAt: number;
  updatedAt: number;
}

export function toBatch(row: BatchRow): Batch {
  return {
    ...row,
    base: JSON.parse(row.base) as Change[],
    head: JSON.parse(row.head) as Change[],
    metadata: JSON.parse(row.metadata) as BuildMetadata,
    state: row.state as Batch["state"],
    verdict: row.verdict as Batch["verdict"],
  };
}

/** Where a page of the build list ends: the last row's (createdAt, id). */
export interface BuildCursor {
  createdAt: number;
  id: string;
}

export interface BuildListRow {
  id: string;
  batchId: string;
  queue: string;
  runner: string;
  status: BuildStatus;
  /** What an unfinished build waits for (the runner's WAITING_FOR metadata), or null. */
  waitingFor: string | null;
  createdAt: number;
  finishedAt: number | null;
  /** finishedAt - createdAt; for an unfinished build, the time so far on the database's clock. */
  duration: number;
}

/**
 * What a change writes through: a Drizzle transaction, or a Drizzle client
 * bound to the connection of a queue transaction (PipelineStore.within).
 */
export type Tx = Pick<Db, "select" | "insert" | "update" | "delete" | "execute">;
/** Runs in the transaction of a change (an audit row): commits or rolls back with it. */
export type TxHook = (tx: Tx) => Promise<void>;

export class PipelineStore {
  /**
   * @param bound true when `db` runs on a connection whose transaction the
   * caller already opened (see `within`): changes then write straight through
   * instead of opening a transaction of their own.
   */
  constructor(
    readonly db: Db,
    private readonly bound = false,
  ) {}

  /**
   * This store on a queue transaction's connection: what it writes commits
   * with the publishes and settles of that transaction (queue.transaction).
   */
  within(tx: QueueTx): PipelineStore {
    // A client per transaction: mysql2 lends each one a new wrapper of its pooled connection, so
    // there is nothing to keep; made without the schema, a client costs little (db/client.ts).
    return new PipelineStore(createDb(tx.connection as unknown as Pool), true);
  }

  private change<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.bound ? fn(this.db) : this.db.transaction(fn);
  }

  async createBatch(
    input: {
      queue: string;
      base: Change[];
      head: Change[];
      metadata: BuildMetadata;
      requester: string;
    },
    within?: TxHook,
  ): Promise<string> {
    const id = randomUUID();
    await this.change(async (tx) => {
      await tx.insert(batches).values({
        id,
        queue: input.queue,
        base: JSON.stringify(input.base),
        head: JSON.stringify(input.head),
        metadata: JSON.stringify(input.metadata),
        requester: input.requester,
        state: "pending",
        createdAt: NOW_MS,
        updatedAt: NOW_MS,
      });
      await within?.(tx);
    });
    return id;
  }

  /** Runs `fn` in one transaction with `within`, so that what `within` writes commits only if `fn` succeeds. */
  async withHook<T>(within: TxHook | undefined, fn: () => Promise<T>): Promise<T> {
    if (!within) return fn();
    return this.change(async (tx) => {
      await within(tx);
      return fn();
    });
  }

  async getBatch(id: string): Promise<Batch | undefined> {
    const [row] = await this.db.select().from(batches).where(eq(batches.id, id));
    return row && toBatch(row);
  }

  /** Built once per store: a status poll reads its build first, and building the query each time cost more than running it. */
  private getBuildQuery?: ReturnType<typeof prepareGetBuild>;

  async getBuild(id: string): Promise<BuildRow | undefined> {
    this.getBuildQuery ??= prepareGetBuild(this.db);
    const [row] = await this.getBuildQuery.execute({ id });
    return row;
  }

  async getBuildForBatch(batchId: string): Promise<BuildRow | undefined> {
    const [row] = await this.db.select().from(builds).where(eq(builds.batchId, batchId));
    return row;
  }

  async history(buildId: string) {
    return this.db
      .select()
      .from(buildStatusHistory)
      .where(eq(buildStatusHistory.buildId, buildId))
      .orderBy(buildStatusHistory.id);
  }

  /** The database's clock, ms: the one every stored time is on. */
  async now(): Promise<number> {
    const [rows] = await this.db.execute(sql`SELECT ${NOW_MS} AS now`);
    return Number((rows as unknown as Array<{ now: number | string }>)[0]?.now);
  }

  /**
   * Builds newest first, keyset-paged on (created_at, id): a page costs the
   * same however deep it is (no OFFSET), and rows inserted meanwhile neither
   * repeat nor vanish. Served by builds_created, builds_status or builds_queue.
   */
  async listBuilds(opts: {
    status?: BuildStatus;
    queue?: string;
    cursor?: BuildCursor | null;
    limit: number;
  }): Promise<{ rows: BuildListRow[]; nextCursor: BuildCursor | null }> {
    const where: SQL[] = [];
    if (opts.status) where.push(eq(builds.status, opts.status));
    if (opts.queue) where.push(eq(builds.queue, opts.queue));
    const c = opts.cursor;
    if (c) {
      // (created_at, id) < (c.createdAt, c.id), spelled so that the index range starts at c.createdAt.
      where.push(lte(builds.createdAt, c.createdAt));
      where.push(or(lt(builds.createdAt, c.createdAt), lt(builds.id, c.id)) as SQL);
    }
    const rows = await this.db
      .select({
        id: builds.id,
        batchId: builds.batchId,
        queue: builds.queue,
        runner: builds.runner,
        status: builds.status,
        // One key of the row's metadata, not the whole text over the wire.
        waitingFor: sql<string | null>`JSON_UNQUOTE(JSON_EXTRACT(${builds.metadata}, ${`$.${WAITING_FOR}`}))`,
        createdAt: builds.createdAt,
        finishedAt: builds.finishedAt,
        now: sql<number>`${NOW_MS}`,
      })
      .from(builds)
      .where(and(...where))
      .orderBy(desc(builds.createdAt), desc(builds.id))
      .limit(opts.limit + 1);
    const page = rows.slice(0, opts.limit).map(({ now, ...r }) => ({
      ...r,
      duration: Math.max(0, (r.finishedAt ?? Number(now)) - r.createdAt),
    }));
    const last = page.at(-1);
    return {
      rows: page,
      nextCursor: rows.length > opts.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
    };
  }

  /** Stores a just-triggered build as accepted; a batch keeps its first build. Returns the stored one. */
  async insertBuild(input: { id: string; batchId: string; runner: string; queue: string }): Promise<BuildRow> {
    try {
      // No locking read first: two workers' `SELECT … FOR UPDATE` on absent
      // batch ids take gap locks that deadlock their inserts. The unique
      // batch_id index decides instead.
      await this.change(async (tx) => {
        await tx.insert(builds).values({
          ...input,
          status: "accepted",
          metadata: "{}",
          createdAt: NOW_MS,
          updatedAt: NOW_MS,
        });
        await tx
          .insert(buildStatusHistory)
          .values({ buildId: input.id, status: "accepted", metadata: "{}", at: NOW_MS });
        await tx
          .update(batches)
          .set({ state: "building", updatedAt: NOW_MS })
          .where(and(eq(batches.id, input.batchId), eq(batches.state, "pending")));
      });
    } catch (err) {
      // The batch has its build already (a redelivered `build`): keep that one.
      if (classifyMysqlError(err) !== "duplicate") throw err;
    }
    const stored = await this.getBuildForBatch(input.batchId);
    if (!stored) throw new Error(`build for batch ${input.batchId} vanished`);
    return stored;
  }

  /**
   * Records a status answer. A terminal build keeps its status (a late or
   * pushed answer cannot reopen it); a change of status adds a history row.
   * `changed` says whether the status moved.
   */
  async recordStatus(
    buildId: string,
    status: BuildStatus,
    metadata: BuildMetadata,
    /** The live poll generation this answer came from: moved to the next one in the same transaction. */
    advanceFrom?: number,
    /** true: a verdict of the pipeline itself (no answer came), so the run of failed calls stays counted. */
    fromFailures = false,
    /** The build as the caller read it before asking its runner: tried first without a locking read. */
    seen?: RecordedBuild,
  ): Promise<{ build: RecordedBuild; changed: boolean }> {
    const meta = JSON.stringify(metadata);
    const values = {
      status,
      metadata: meta,
      statusCalls: sql`${builds.statusCalls} + 1`,
      // An answer ends a run of failed status calls (same statement: nothing added to the poll's cost).
      ...(fromFailures ? {} : { statusFailures: 0 }),
      ...(advanceFrom === undefined
        ? {}
        : {
            pollGeneration: nextGeneration(advanceFrom),
          }),
      updatedAt: NOW_MS,
      ...(isTerminal(status) ? { finishedAt: NOW_MS } : {}),
    };
    return this.change(async (tx) => {
      const record = async (row: RecordedBuild) => {
        const changed = row.status !== status;
        if (changed) await tx.insert(buildStatusHistory).values({ buildId, status, metadata: meta, at: NOW_MS });
        // Under the row lock, the status written is the status now: no read back.
        return { build: { ...row, status }, changed };
      };
      if (seen && !isTerminal(seen.status)) {
        // The common case, a poll nobody raced: the update's own lock checks the status is
        // still the one seen, which saves the locking read. Otherwise the locking path below.
        const [res] = await tx
          .update(builds)
          .set(values)
          .where(and(eq(builds.id, buildId), eq(builds.status, seen.status)));
        if (res.affectedRows === 1) return record(seen);
      }
      const [row] = await tx
        .select({ id: builds.id, batchId: builds.batchId, runner: builds.runner, status: builds.status })
        .from(builds)
        .where(eq(builds.id, buildId))
        .for("update");
      if (!row) throw new Error(`unknown build ${buildId}`);
      if (isTerminal(row.status)) return { build: row, changed: false };
      await tx.update(builds).set(values).where(eq(builds.id, buildId));
      return record(row);
    });
  }

  /**
   * Records many polls' answers in one statement (PollWriter): the fast path
   * of recordStatus for each, on builds still in the status their poll saw
   * (never terminal). Returns false when any build's status moved meanwhile:
   * nothing is then recorded right and the caller must roll back. Bound
   * stores only.
   */
  async recordPolls(polls: readonly PollAnswer[]): Promise<boolean> {
    if (!this.bound) throw new Error("recordPolls writes in a caller's transaction: use within(tx)");
    if (polls.length === 0) return true;
    const byId = <T>(value: (p: PollAnswer) => T | SQL, otherwise: SQL | AnyMySqlColumn) =>
      sql`CASE ${builds.id} ${sql.join(
        polls.map((p) => sql`WHEN ${p.seen.id} THEN ${value(p)}`),
        sql` `,
      )} ELSE ${otherwise} END`;
    const [res] = await this.db
      .update(builds)
      .set({
        status: byId((p) => p.status, builds.status),
        metadata: byId((p) => JSON.stringify(p.metadata), builds.metadata),
        statusCalls: sql`${builds.statusCalls} + 1`,
        statusFailures: 0,
        pollGeneration: byId(
          (p) => (p.advanceFrom === undefined ? sql`${builds.pollGeneration}` : nextGeneration(p.advanceFrom)),
          builds.pollGeneration,
        ),
        updatedAt: NOW_MS,
        finishedAt: byId((p) => (isTerminal(p.status) ? NOW_MS : sql`${builds.finishedAt}`), builds.finishedAt),
      })
      // Primary-key equalities: the rows are locked in id order, as every batch locks them.
      .where(or(...polls.map((p) => and(eq(builds.id, p.seen.id), eq(builds.status, p.seen.status)))));
    if (res.affectedRows !== polls.length) return false;
    const changed = polls.filter((p) => p.status !== p.seen.status);
    if (changed.length > 0) {
      await this.db.insert(buildStatusHistory).values(
        changed.map((p) => ({
          buildId: p.seen.id,
          status: p.status,
          metadata: JSON.stringify(p.metadata),
          at: NOW_MS,
        })),
      );
    }
    return true;
  }

  /**
   * Counts a failed status call of an unfinished build. Returns the failures
   * in a row so far and the build's last metadata, or undefined when the
   * build is finished (nothing to count).
   */
  async noteStatusFailure(buildId: string): Promise<{ failures: number; metadata: BuildMetadata } | undefined> {
    return this.change(async (tx) => {
      const [row] = await tx
        .select({ status: builds.status, failures: builds.statusFailures, metadata: builds.metadata })
        .from(builds)
        .where(eq(builds.id, buildId))
        .for("update");
      if (!row) throw new Error(`unknown build ${buildId}`);
      if (isTerminal(row.status)) return undefined;
      const failures = row.failures + 1;
      // updated_at moves too: a build whose status calls are being retried is not stalled.
      await tx.update(builds).set({ statusFailures: failures, updatedAt: NOW_MS }).where(eq(builds.id, buildId));
      let metadata: BuildMetadata = {};
      try {
        metadata = JSON.parse(row.metadata) as BuildMetadata;
      } catch {
        // A row written by hand: the failure's reason is what matters.
      }
      return { failures, metadata };
    });
  }

  /**
   * Locks a capped queue's slot row (made on first use) until the
   * transaction ends. Every move into or out of "building" on that queue
   * happens under it, so the count read after it is the count.
   * Bound stores only (within a queue transaction).
   */
  /** Takes the queue's slot lock (see lockSlots) in this store's transaction. */
  async lockQueueSlots(queue: string): Promise<void> {
    await this.change((tx) => this.lockSlots(tx, queue));
  }

  private async lockSlots(tx: Tx, queue: string): Promise<void> {
    await tx
      .insert(buildQueueSlots)
      .values({ queue })
      .onDuplicateKeyUpdate({ set: { queue: sql`${buildQueueSlots.queue}` } });
  }

  private async slotsInUse(tx: Tx, queue: string): Promise<number> {
    // A locking read: it sees every commit made under the slot lock, whenever this transaction's snapshot began.
    const [rows] = await tx.execute(
      sql`SELECT COUNT(*) AS n FROM ${batches} WHERE ${batches.queue} = ${queue} AND ${batches.state} = 'building' LOCK IN SHARE MODE`,
    );
    return Number((rows as unknown as Array<{ n: number | string }>)[0]?.n ?? 0);
  }

  /**
   * Takes one of a capped queue's `cap` slots for a batch about to be built
   * ("building"), or parks it ("waiting") when none is free. A batch that is
   * building already (its slot taken, or handed over) keeps it.
   */
  async claimSlot(batchId: string, queue: string, cap: number): Promise<Batch["state"]> {
    return this.change(async (tx) => {
      await this.lockSlots(tx, queue);
      const [row] = await tx
        .select({ state: batches.state })
        .from(batches)
        .where(eq(batches.id, batchId))
        .for("update");
      if (!row) throw new Error(`unknown batch ${batchId}`);
      if (row.state !== "pending" && row.state !== "waiting") return row.state as Batch["state"];
      const next = (await this.slotsInUse(tx, queue)) < cap ? "building" : "waiting";
      if (next !== row.state) {
        await tx.update(batches).set({ state: next, updatedAt: NOW_MS }).where(eq(batches.id, batchId));
      }
      return next;
    });
  }

  /**
   * Gives a capped queue's free slots to its oldest waiting batches (they
   * become "building") and returns their ids: the caller publishes their
   * `build` messages in the same transaction. `cap` undefined: the queue is
   * no longer capped, so every waiting batch goes.
   */
  async handOverSlots(queue: string, cap: number | undefined): Promise<string[]> {
    return this.change(async (tx) => {
      await this.lockSlots(tx, queue);
      const free = cap === undefined ? 1_000 : cap - (await this.slotsInUse(tx, queue));
      if (free <= 0) return [];
      const next = await tx
        .select({ id: batches.id })
        .from(batches)
        .where(and(eq(batches.queue, queue), eq(batches.state, "waiting")))
        .orderBy(batches.createdAt, batches.id)
        .limit(free)
        .for("update");
      if (next.length === 0) return [];
      const ids = next.map((r) => r.id);
      await tx.update(batches).set({ state: "building", updatedAt: NOW_MS }).where(inArray(batches.id, ids));
      return ids;
    });
  }

  /** Queues with batches waiting for a slot (the sweep that makes sure none waits forever). */
  async queuesWithWaitingBatches(): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ queue: batches.queue })
      .from(batches)
      .where(eq(batches.state, "waiting"))
      .limit(1_000);
    return rows.map((r) => r.queue);
  }

  /** How many of a queue's batches hold a slot, and how many wait (in all, and ahead of `batch`). */
  async slotState(batch: Pick<Batch, "id" | "queue" | "createdAt">) {
    const [row] = await this.db
      .select({
        building: sql<number>`SUM(${batches.state} = 'building')`,
        waiting: sql<number>`SUM(${batches.state} = 'waiting')`,
        ahead: sql<number>`SUM(${batches.state} = 'waiting' AND (${batches.createdAt} < ${batch.createdAt} OR (${batches.createdAt} = ${batch.createdAt} AND ${batches.id} < ${batch.id})))`,
      })
      .from(batches)
      .where(and(eq(batches.queue, batch.queue), inArray(batches.state, ["building", "waiting"])));
    return { building: Number(row?.building ?? 0), waiting: Number(row?.waiting ?? 0), ahead: Number(row?.ahead ?? 0) };
  }

  /** Batches waiting for a slot, oldest first, with their place in their queue's line (1: next). */
  async waitingBatches(limit: number) {
    const rows = await this.db
      .select({ id: batches.id, queue: batches.queue, requester: batches.requester, createdAt: batches.createdAt })
      .from(batches)
      .where(eq(batches.state, "waiting"))
      .orderBy(batches.createdAt, batches.id)
      .limit(limit);
    // Oldest first over every queue: each queue's earlier waiting batches are all in the page, so its count is the place.
    const seen = new Map<string, number>();
    return rows.map((r) => {
      const position = (seen.get(r.queue) ?? 0) + 1;
      seen.set(r.queue, position);
      return { ...r, position };
    });
  }

  async finishBatch(batchId: string, verdict: "succeeded" | "failed" | "cancelled"): Promise<void> {
    await this.db
      .update(batches)
      .set({ state: "done", verdict, updatedAt: NOW_MS })
      .where(and(eq(batches.id, batchId), inArray(batches.state, ["pending", "building"])));
  }

  /** How many builds there are in each status (the console's overview); reads the status index only. */
  async countBuildsByStatus(): Promise<Array<{ status: BuildStatus; count: number }>> {
    const rows = await this.db
      .select({ status: builds.status, count: sql<number>`COUNT(*)` })
      .from(builds)
      .groupBy(builds.status);
    return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
  }

  /** Unfinished builds nobody has looked at for `ms`: their poll chain may have been lost. */
  async stalledBuilds(ms: number, limit = 100): Promise<Array<BuildRow & { idleMs: number }>> {
    const rows = await this.db
      .select({ build: builds, idleMs: sql<number>`${NOW_MS} - ${builds.updatedAt}` })
      .from(builds)
      .where(and(inArray(builds.status, ["accepted", "running"]), lt(builds.updatedAt, sql`${NOW_MS} - ${ms}`)))
      .orderBy(desc(builds.updatedAt))
      .limit(limit);
    return rows.map((r) => ({ ...r.build, idleMs: Number(r.idleMs) }));
  }
}

/** The poll generation after an answer from live generation `from`: the next one, unless another answer moved it already. */
const nextGeneration = (from: number) =>
  sql`IF(${builds.pollGeneration} = ${from}, ${from + 1}, ${builds.pollGeneration})`;

const prepareGetBuild = (db: Db) =>
  db
    .select()
    .from(builds)
    .where(eq(builds.id, sql.placeholder("id")))
    .prepare();
