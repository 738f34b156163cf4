// The audit log: one row per mutating action, written inside the action's
// own transaction (the queue library's `within` hook or a Drizzle
// transaction) so that a change and its trace commit or roll back together.
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import { auditLog } from "@/db/auth-schema";
import { type Db, NOW_MS } from "@/db/client";
import { NOW_MS_SQL } from "@/db/clock";
import type { Actor } from "./roles";

export const AUDIT_ACTIONS = [
  "dlq.requeue",
  "dlq.requeue-matching",
  "dlq.purge",
  "dlq.cancel-job",
  "deferred.deliver-now",
  "build.trigger",
  "build.cancel",
  "queue.release-lease",
  "queue.reset-offset",
  "queue.delete-message",
  "queue.purge-topic",
  "queue.release-stale-leases",
  "queue.pause",
  "queue.resume",
  "user.add",
  "user.reset-password",
  "user.set-role",
  "user.remove",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  action: AuditAction;
  /** Ids, addresses or the filter the action covered. Never a payload or a password. */
  target: unknown;
  count: number;
}

/** Anything that can run one statement inside the caller's transaction. */
interface Statement {
  execute(sql: string, params?: unknown[]): Promise<unknown>;
}

const INSERT = `INSERT INTO audit_log (at, actor, action, target, count, address) VALUES (${NOW_MS_SQL}, ?, ?, ?, ?, ?)`;

/** Writes the row through a queue-library executor (inside its transaction). */
export async function writeAudit(c: Statement, actor: Actor, entry: AuditEntry): Promise<void> {
  await c.execute(INSERT, [actor.name, entry.action, JSON.stringify(entry.target), entry.count, actor.address]);
}

/**
 * The queue library's `within` hook for an action: called in the action's
 * transaction with how many rows it changed.
 */
export function auditWithin(actor: Actor, action: AuditAction, target: unknown) {
  return (c: Statement, count: number) => writeAudit(c, actor, { action, target, count });
}

/**
 * The queue library's audit for a requeue-all or purge job (see JobAudit in
 * server/queue/ops/jobs.ts): the row names the filter and the job, starts at
 * count 0 with the planned count in its target, and the job adds what each
 * batch really moved, in that batch's transaction, and sets its state at the end.
 */
export function auditJob(actor: Actor, action: AuditAction, filter: object) {
  return async (
    c: { execute(sql: string, params?: unknown[]): Promise<{ insertId: number }> },
    job: { id: string; planned: number; state: string },
  ): Promise<number> => {
    const target = { ...filter, job: job.id, planned: job.planned, state: job.state };
    const { insertId } = await c.execute(INSERT, [actor.name, action, JSON.stringify(target), 0, actor.address]);
    return insertId;
  };
}

/** Writes the row through a Drizzle transaction. */
export async function writeAuditTx(tx: Pick<Db, "insert">, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    at: NOW_MS,
    actor: actor.name,
    action: entry.action,
    target: JSON.stringify(entry.target),
    count: entry.count,
    address: actor.address,
  });
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  count: number;
  address: string;
}

/** Newest first, keyset-paged on id; filters by actor and action use their (column, at) indexes. */
export async function listAudit(
  db: Db,
  opts: { actor?: string; action?: string; before?: number; limit: number },
): Promise<{ rows: AuditRow[]; next: number | null }> {
  const where: SQL[] = [];
  if (opts.actor) where.push(eq(auditLog.actor, opts.actor));
  if (opts.action) where.push(eq(auditLog.action, opts.action));
  if (opts.before !== undefined) where.push(lt(auditLog.id, opts.before));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  return { rows: page, next: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null };
}

/** Distinct actors, for the audit page's filter. */
export async function listAuditActors(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ actor: auditLog.actor }).from(auditLog).orderBy(auditLog.actor).limit(500);
  return rows.map((r) => r.actor);
}
