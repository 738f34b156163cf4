// Requeue or purge everything in a DLQ that matches a filter, as a tracked
// job rather than one long request: rows are handled in small transactions at
// a set rate, progress is stored, an operator can cancel, and a job whose
// runner stopped heartbeating is resumed by any other process. The job covers
// exactly the rows that matched when it was made (log_id <= max_log_id):
// failures that arrive later are not swept up.
import { randomUUID } from "node:crypto";
import { requeueRows } from "@/server/queue/admin";
import { type AdminOptions, type Executor, NOW_MS, type QueueDb } from "@/server/queue/db";
import { deleteCounted } from "@/server/queue/dlq-counts";
import { invalid, QueueError } from "@/server/queue/errors";
import { type DlqFilter, newestDlqIds } from "./dlq";
import { countDlq } from "./dlq-tallies";

export type JobKind = "requeue" | "purge";
export type JobState = "running" | "done" | "cancelled" | "failed";

export interface Job {
  id: string;
  /** requeue or purge (see JobInput). */
  kind: JobKind;
  /** The DLQ topic it works on. */
  topic: string;
  filter: DlqFilter;
  /** Rows a second. */
  ratePerSecond: number;
  state: JobState;
  /** The rows that matched when it was made: all it will ever touch. */
  total: number;
  /** Rows moved so far (requeued or deleted). */
  processed: number;
  /** Why it failed (state "failed"); null otherwise. */
  error: string | null;
  createdBy: string;
  /** ms on the database's clock. */
  createdAt: number;
  /** When it ended, ms on the database's clock; null while running. */
  finishedAt: number | null;
}

/** Rows per transaction at most. */
const BATCH = 100;
/** A running job whose runner has not written for this long is taken over, ms. */
const STALE_AFTER_MS = 30_000;
export const MAX_RATE = 10_000;

type RawJob = {
  id: string;
  kind: string;
  topic: string;
  filter: string;
  max_log_id: number;
  rate_per_second: number;
  state: string;
  total: number;
  processed: number;
  cursor: number | null;
  cancel_requested: number;
  audit_id: number | null;
  error: string | null;
  created_by: string;
  created_at: number;
  finished_at: number | null;
};

function toJob(r: RawJob): Job {
  return {
    id: r.id,
    kind: r.kind as JobKind,
    topic: r.topic,
    filter: JSON.parse(r.filter) as DlqFilter,
    ratePerSecond: Number(r.rate_per_second),
    state: r.state as JobState,
    total: Number(r.total),
    processed: Number(r.processed),
    error: r.error,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/**
 * The audit of a job. A job moves its rows over many transactions, perhaps in
 * another process than the one that made it (a worker carries on a job whose
 * web server stopped), so no caller's hook can be there for each of them.
 * Instead `audit` writes the job's audit row when the job is made (in that
 * transaction, with the planned count) and returns the row's id; the job
 * keeps the id, every batch adds the rows it moved to the row's count in the
 * batch's own transaction, and the job's end sets the row's `state` (done,
 * cancelled, failed). The row never counts a row that did not move: a
 * cancelled job's row says "cancelled" with what moved before it stopped.
 * This is the one place the queue library writes a table it does not own:
 * `audit_log` (id, count, and a JSON object in target).
 */
export type JobAudit = (c: Executor, job: { id: string; planned: number; state: JobState }) => Promise<number>;

export interface JobOptions extends AdminOptions {
  /** Writes the job's audit row when it is made and returns its id (see JobAudit). Default: no audit row. */
  audit?: JobAudit;
}

export interface JobInput {
  /** requeue: send each matching dead letter back to its original topic and group; purge: delete them. */
  kind: JobKind;
  /** The dead letters it works through: those matching now (later ones are not added). */
  filter: DlqFilter;
  /** How many rows a second it goes through, an integer from 1 to MAX_RATE (10,000). */
  ratePerSecond: number;
  /** Who asked for it (a user name), shown with the job. */
  createdBy: string;
  /** The count the operator confirmed: the job is refused unless exactly this many match. Default: not checked. */
  expectedCount?: number;
}

/**
 * Makes a job over the rows matching `filter` now. `expectedCount`, when
 * given, must equal that number (the count the operator confirmed), or the
 * job is refused: a purge never deletes more than was shown.
 */
export async function createJob(db: QueueDb, input: JobInput, opts: JobOptions = {}): Promise<Job> {
  if (!Number.isInteger(input.ratePerSecond) || input.ratePerSecond < 1 || input.ratePerSecond > MAX_RATE) {
    throw invalid(`ratePerSecond must be an integer from 1 to ${MAX_RATE}`);
  }
  const [top] = await db.query<{ max: number | null }>(
    "SELECT MAX(log_id) AS max FROM queue_messages WHERE topic = ?",
    [input.filter.topic],
  );
  const maxLogId = Number(top?.max ?? 0);
  const total = await countDlq(db, input.filter, maxLogId);
  if (input.expectedCount !== undefined && input.expectedCount !== total) {
    throw new QueueError(
      "INVALID_ARGUMENT",
      `the filter now matches ${total} messages, not the ${input.expectedCount} you confirmed; look again and confirm the new count`,
    );
  }
  const id = randomUUID();
  const state: JobState = total === 0 ? "done" : "running";
  // The hook's count is the rows the job will cover (its total), known now.
  await db.tx(async (c) => {
    await c.execute(
      `INSERT INTO queue_jobs (id, kind, topic, filter, max_log_id, rate_per_second, state, total, created_by, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS})`,
      [
        id,
        input.kind,
        input.filter.topic,
        JSON.stringify(input.filter),
        maxLogId,
        input.ratePerSecond,
        state,
        total,
        input.createdBy,
      ],
    );
    await opts.within?.(c, total);
    if (opts.audit) {
      const auditId = await opts.audit(c, { id, planned: total, state });
      await c.execute("UPDATE queue_jobs SET audit_id = ? WHERE id = ?", [auditId, id]);
    }
  });
  const job = await getJob(db, id);
  if (!job) throw new Error(`job ${id} vanished`);
  return job;
}

export async function getJob(db: QueueDb, id: string): Promise<Job | null> {
  const [r] = await db.query<RawJob>("SELECT * FROM queue_jobs WHERE id = ?", [id]);
  return r ? toJob(r) : null;
}

export async function listJobs(db: QueueDb, limit = 20): Promise<Job[]> {
  const rows = await db.query<RawJob>("SELECT * FROM queue_jobs ORDER BY created_at DESC LIMIT ?", [limit]);
  return rows.map(toJob);
}

export async function cancelJob(db: QueueDb, id: string, opts: AdminOptions = {}): Promise<void> {
  await db.tx(async (c) => {
    const { affectedRows } = await c.execute("UPDATE queue_jobs SET cancel_requested = 1 WHERE id = ?", [id]);
    if (affectedRows === 0) throw new QueueError("NOT_FOUND", `no job ${id}`);
    await opts.within?.(c, affectedRows);
  });
}

/** Ids of running jobs nobody is working on (new, or whose runner died). */
export async function claimableJobs(db: QueueDb): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM queue_jobs WHERE state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < ${NOW_MS} - ?)`,
    [STALE_AFTER_MS],
  );
  return rows.map((r) => r.id);
}

/**
 * Runs a job to its end in this process. Returns at once when another live
 * runner has it. `sleep` is injectable so tests can observe the pacing.
 */
export async function runJob(
  db: QueueDb,
  id: string,
  runner: string,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<Job | null> {
  const { affectedRows } = await db.execute(
    `UPDATE queue_jobs SET runner = ?, heartbeat_at = ${NOW_MS}
     WHERE id = ? AND state = 'running' AND (runner IS NULL OR runner = ? OR heartbeat_at < ${NOW_MS} - ?)`,
    [runner, id, runner, STALE_AFTER_MS],
  );
  if (affectedRows === 0) return getJob(db, id);
  for (;;) {
    const [raw] = await db.query<RawJob>("SELECT * FROM queue_jobs WHERE id = ?", [id]);
    if (raw?.state !== "running") break;
    if (raw.cancel_requested) {
      await finish(db, id, "cancelled");
      break;
    }
    const batch = Math.min(BATCH, Number(raw.rate_per_second));
    const started = performance.now();
    try {
      const n = await step(db, raw, batch, runner);
      if (n === null) {
        await finish(db, id, "done");
        break;
      }
    } catch (err) {
      if (err instanceof TakenOver) break;
      await finish(db, id, "failed", err instanceof Error ? err.message : String(err));
      break;
    }
    // Rate limit: `batch` rows per batch / rate seconds.
    const wait = (batch / Number(raw.rate_per_second)) * 1000 - (performance.now() - started);
    if (wait > 0) await sleep(wait);
  }
  return getJob(db, id);
}

/** One transaction: the next rows of the job, requeued or deleted, and the progress. Null when none are left. */
async function step(db: QueueDb, job: RawJob, batch: number, runner: string): Promise<number | null> {
  const filter = JSON.parse(job.filter) as DlqFilter;
  return db.tx(async (c) => {
    const ids = await newestDlqIds(
      c,
      filter,
      { maxLogId: Number(job.max_log_id), ...(job.cursor === null ? {} : { before: Number(job.cursor) }) },
      batch,
    );
    if (ids.length === 0) return null;
    const n = job.kind === "requeue" ? await requeueRows(c, ids) : await deleteCounted(c, ids);
    const { affectedRows } = await c.execute(
      `UPDATE queue_jobs SET processed = processed + ?, \`cursor\` = ?, heartbeat_at = ${NOW_MS}
       WHERE id = ? AND runner = ? AND state = 'running'`,
      [n, Math.min(...ids), job.id, runner],
    );
    // Another runner took the job over (we were paused past STALE_AFTER_MS): undo this batch.
    if (affectedRows === 0) throw new TakenOver();
    if (job.audit_id !== null && n > 0) {
      await c.execute("UPDATE audit_log SET count = count + ? WHERE id = ?", [n, job.audit_id]);
    }
    return n;
  });
}

class TakenOver extends Error {
  constructor() {
    super("the job was taken over by another runner");
  }
}

async function finish(db: QueueDb, id: string, state: JobState, error?: string) {
  await db.tx(async (c) => {
    const { affectedRows } = await c.execute(
      `UPDATE queue_jobs SET state = ?, error = ?, finished_at = ${NOW_MS} WHERE id = ? AND state = 'running'`,
      [state, error ?? null, id],
    );
    if (affectedRows === 0) return;
    await c.execute(
      `UPDATE audit_log a JOIN queue_jobs j ON j.audit_id = a.id SET a.target = JSON_SET(a.target, '$.state', ?)
       WHERE j.id = ?`,
      [state, id],
    );
  });
}
