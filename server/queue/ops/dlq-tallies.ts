// The DLQ's numbers: how many dead letters a filter matches, and the failure
// groups with their counts. Whatever a whole (topic, original group, failure
// group) holds is read from the kept counts (dlq-counts.ts); only what a
// search narrows within a group is counted from the log, through the
// branches planDlq (dlq.ts) reads the list with.
import type { QueueDb } from "@/server/queue/db";
import { type Branch, type DlqFilter, groupConditions, planDlq, type Reader } from "./dlq";

/**
 * The exact number of rows a filter matches (what a requeue or purge would
 * touch). Whole failure groups are read from queue_dlq_counts; with
 * `maxLogId` (a job's snapshot) every branch is counted from the log, as the
 * kept counts hold no history.
 */
export async function countDlq(db: Reader, filter: DlqFilter, maxLogId?: number): Promise<number> {
  if (maxLogId === undefined && !filter.search) return keptCount(db, filter, undefined);
  const branches = await planDlq(db, filter, { maxLogId });
  const kept = maxLogId === undefined ? wholesOf(branches) : [];
  const scanned = kept.length === 0 ? branches : branches.filter((b) => b.whole === undefined);
  const [fromKept, fromLog] = await Promise.all([
    kept.length === 0 ? 0 : keptCount(db, filter, kept),
    scanned.length === 0 ? 0 : countBranches(db, scanned),
  ]);
  return fromKept + fromLog;
}

const wholesOf = (branches: Branch[]) => branches.flatMap((b) => (b.whole === undefined ? [] : [b.whole]));

/** Where a filter's kept counts are, for `groups` only when given. */
function keptWhere(f: DlqFilter, groups: string[] | undefined): { where: string; params: unknown[] } {
  const filtered = groupConditions(f);
  const where = ["topic = ?", ...filtered.where];
  const params: unknown[] = [f.topic, ...filtered.params];
  if (groups !== undefined) {
    where.push("failure_group IN (?)");
    params.push(groups);
  }
  return { where: where.join(" AND "), params };
}

/** The dead letters of the filter's (topic, original group, failure group), from queue_dlq_counts. */
async function keptCount(db: Reader, f: DlqFilter, groups: string[] | undefined): Promise<number> {
  const w = keptWhere(f, groups);
  const [row] = await db.query<{ n: number | null }>(
    `SELECT SUM(dead_letters) AS n FROM queue_dlq_counts WHERE ${w.where}`,
    w.params,
  );
  return Number(row?.n ?? 0);
}

/** The rows the branches find, each once, counted from the log. */
async function countBranches(db: Reader, branches: Branch[]): Promise<number> {
  const only = branches.length === 1 ? branches[0] : undefined;
  const [row] = only
    ? await db.query<{ n: number }>(
        `SELECT COUNT(*) AS n FROM queue_messages FORCE INDEX (${only.countIndex ?? only.index}) WHERE ${only.where.join(" AND ")}`,
        only.params,
      )
    : await db.query<{ n: number }>(
        // UNION, not UNION ALL: a row found by its id and by its text counts once.
        `SELECT COUNT(*) AS n FROM (${branches
          .map(
            (b) =>
              `(SELECT log_id FROM queue_messages FORCE INDEX (${b.countIndex ?? b.index}) WHERE ${b.where.join(" AND ")})`,
          )
          .join(" UNION ")}) matched`,
        branches.flatMap((b) => b.params),
      );
  return Number(row?.n ?? 0);
}

export interface FailureGroupRow {
  failureGroup: string;
  /** Dead letters in the group (of those the filter matches). */
  count: number;
  /** When its newest dead letter failed, ms on the database's clock. */
  lastFailedAt: number;
  /** That newest dead letter's reason as given. */
  sampleReason: string;
}

/**
 * Which dead letters dlqFailureGroups counts: a DLQ topic's name (all its
 * rows), or a filter whose search and original group narrow them (its
 * failure group, if any, is not taken).
 */
export type FailureGroupFilter = string | Omit<DlqFilter, "failureGroup">;

/**
 * Failures grouped by their normalised reason, biggest first. With a search
 * or an original group, the counts are of the rows that match it (a filter's
 * failure group is ignored here: the list shows every group to pick from).
 */
export async function dlqFailureGroups(
  db: QueueDb,
  filter: FailureGroupFilter,
  limit = 50,
): Promise<FailureGroupRow[]> {
  const f: DlqFilter =
    typeof filter === "string"
      ? { topic: filter }
      : {
          topic: filter.topic,
          ...(filter.search ? { search: filter.search } : {}),
          ...(filter.originalGroup !== undefined ? { originalGroup: filter.originalGroup } : {}),
        };
  let groups: GroupCount[];
  if (f.search === undefined) groups = await keptGroups(db, f, undefined, limit);
  else {
    const branches = await planDlq(db, f);
    const wholes = wholesOf(branches);
    const rest = branches.filter((b) => b.whole === undefined);
    // The whole groups and the rest are different failure groups: no group is in both.
    const [kept, scanned] = await Promise.all([
      wholes.length === 0 ? [] : keptGroups(db, f, wholes, limit),
      rest.length === 0 ? [] : groupsOfMatches(db, rest, limit),
    ]);
    groups = [...kept, ...scanned]
      .sort((a, b) => Number(b.n) - Number(a.n) || (a.failure_group < b.failure_group ? -1 : 1))
      .slice(0, limit);
  }
  if (groups.length === 0) return [];
  const samples = await db.query<{ log_id: number; failure_reason: string; failed_at: number }>(
    "SELECT log_id, failure_reason, failed_at FROM queue_messages WHERE log_id IN (?)",
    [groups.map((g) => g.newest)],
  );
  const byId = new Map(samples.map((s) => [Number(s.log_id), s]));
  return groups.map((g) => {
    const s = byId.get(Number(g.newest));
    return {
      failureGroup: g.failure_group,
      count: Number(g.n),
      lastFailedAt: Number(s?.failed_at ?? 0),
      sampleReason: s?.failure_reason ?? "",
    };
  });
}

interface GroupCount {
  failure_group: string;
  n: number;
  newest: number;
}

/**
 * Failure groups with their kept counts, biggest first. A group whose newest
 * dead letter was removed since its last failure has it looked up (one range
 * of the group's index entries).
 */
async function keptGroups(
  db: Reader,
  f: DlqFilter,
  groups: string[] | undefined,
  limit: number,
): Promise<GroupCount[]> {
  const w = keptWhere(f, groups);
  const rows = await db.query<{ failure_group: string; n: number; newest: number | null; unknown: number }>(
    `SELECT failure_group, SUM(dead_letters) AS n, MAX(newest_log_id) AS newest, SUM(newest_log_id IS NULL) AS unknown
     FROM queue_dlq_counts WHERE ${w.where}
     GROUP BY failure_group ORDER BY n DESC, failure_group LIMIT ?`,
    [...w.params, limit],
  );
  const og = f.originalGroup !== undefined;
  return Promise.all(
    rows.map(async (r) => {
      if (Number(r.unknown) === 0 && r.newest !== null)
        return { failure_group: r.failure_group, n: r.n, newest: r.newest };
      const [top] = await db.query<{ newest: number | null }>(
        `SELECT MAX(log_id) AS newest FROM queue_messages
         FORCE INDEX (${og ? "queue_messages_topic_original_group" : "queue_messages_topic_failure_group"})
         WHERE topic = ? ${og ? "AND original_group = ?" : ""} AND failure_group = ?`,
        [f.topic, ...(og ? [f.originalGroup] : []), r.failure_group],
      );
      return { failure_group: r.failure_group, n: r.n, newest: Number(top?.newest ?? 0) };
    }),
  );
}

async function groupsOfMatches(db: Reader, branches: Branch[], limit: number): Promise<GroupCount[]> {
  return db.query<GroupCount>(
    `SELECT failure_group, COUNT(*) AS n, MAX(log_id) AS newest FROM (${branches
      .map(
        (b) =>
          `(SELECT log_id, failure_group FROM queue_messages FORCE INDEX (${b.countIndex ?? b.index}) WHERE ${b.where.join(" AND ")})`,
      )
      .join(" UNION ")}) matched
     GROUP BY failure_group ORDER BY n DESC, failure_group LIMIT ?`,
    [...branches.flatMap((b) => b.params), limit],
  );
}
