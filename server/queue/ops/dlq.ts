// Reading the dead-letter queue: the filter-to-SQL translation (the indexed
// search) and the list it reads; the counts and failure groups built on the
// same plan are in dlq-tallies.ts.
import type { Executor, QueueDb } from "@/server/queue/db";
import { groupHolds, groupMayContain } from "@/server/queue/failure-group";
import { parseMetadata } from "@/server/queue/fetch";

export interface DlqFilter {
  /** The DLQ topic, e.g. orders_dlq. */
  topic: string;
  /** Matches the message id or the partition key exactly, or appears in the failure reason (see planDlq). */
  search?: string;
  /** A normalised failure (see failure-group.ts). */
  failureGroup?: string;
  /** The consumer group the message failed in. */
  originalGroup?: string;
}

export interface DlqRow {
  /** The row's id in the log (newest highest). */
  logId: number;
  /** The DLQ topic. */
  topic: string;
  partitionKey: string;
  seq: number;
  /** The message id given at publish. */
  id: string;
  /** The last failure's reason, as the subscriber gave it. */
  reason: string;
  /** The reason with ids, numbers and quoted values masked (failure-group.ts), for grouping. */
  failureGroup: string | null;
  /** How many times its delivery failed. */
  failureCount: number;
  /** When it was dead-lettered, ms on the database's clock. */
  failedAt: number;
  /** The topic and consumer group it failed in. */
  originalTopic: string;
  originalGroup: string;
}

// How a filter is read. Every DLQ read is a union of index-driven branches,
// each returning log ids newest first and stopping at its LIMIT; the page's
// rows are read by id afterwards. No read walks every DLQ row for a LIKE.
//
// A search matches a row when it is the row's message id or partition key
// exactly (byte for byte), or appears in its failure reason (a substring,
// case- and accent-insensitive). The id is read through
// queue_messages_topic_dlq_id, the key through the (topic, partition_key,
// seq) key. For the text, the failure groups (the normalised reasons, see
// failure-group.ts) stand in for a full-text index: the distinct groups of
// the topic are one loose scan of (topic, failure_group), groupMayContain()
// drops every group whose reasons cannot contain the text, and only the
// groups left are read, each through its own range of (topic, failure_group,
// dlq_reason): the LIKE runs on the index entries, not on the rows (reasons
// over 191 characters, whose dlq_reason is NULL, are read from their rows).
// A text no group can hold ("no such error") reads nothing; otherwise the
// cost is the candidate groups' index entries, never the whole log.
//
// Why not FULLTEXT: Drizzle cannot declare a FULLTEXT index (the schema must
// come from db/schema.ts), MariaDB has no n-gram parser, and InnoDB's FTS on
// the log would add a doc-id index and a deleted-docs row to every publish
// and every garbage-collected row of every topic, for a search of the DLQ.
// Word-based matching would also change what the search finds.

/** What marks a DLQ row: log.ts sets failure_group whenever it writes a failure. */
const DLQ_ROW = "failure_group IS NOT NULL";
/** More candidate groups than this read one walk of the topic instead of a branch each. */
const MAX_GROUP_BRANCHES = 24;
/** More distinct failure groups than this and the text search walks the topic: groups would not prune. */
const MAX_GROUPS_LOOKED_AT = 2_000;

export interface Branch {
  index: string;
  where: string[];
  params: unknown[];
  /** Newest first on this branch's rows. Within one partition seq order is log order (seqs are handed out in commit order). */
  newestFirst: "log_id DESC" | "seq DESC";
  /** An index that holds every condition of the branch, for a COUNT(*) that reads no row (the page itself walks `index`). */
  countIndex?: string;
  /** Every row of this failure group matches (groupHolds): a count reads queue_dlq_counts instead. */
  whole?: string;
}

export interface DlqBounds {
  /** Only rows that existed at some moment (a job's snapshot). */
  maxLogId?: number;
  /** Keyset paging: rows older than this log id. */
  before?: number;
}

export type Reader = Pick<Executor, "query">;

/**
 * The conditions a filter's failure group and original group put on a table
 * that has both columns (the DLQ rows of the log, their kept counts).
 */
export function groupConditions(f: DlqFilter): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.failureGroup !== undefined) {
    where.push("failure_group = ?");
    params.push(f.failureGroup);
  }
  if (f.originalGroup !== undefined) {
    where.push("original_group = ?");
    params.push(f.originalGroup);
  }
  return { where, params };
}

/** The branches whose union is exactly the rows `f` matches within `bounds`. */
export async function planDlq(db: Reader, f: DlqFilter, bounds: DlqBounds = {}): Promise<Branch[]> {
  const common = (): { where: string[]; params: unknown[] } => {
    const groups = groupConditions(f);
    const where = ["topic = ?", DLQ_ROW, ...groups.where];
    const params: unknown[] = [f.topic, ...groups.params];
    if (bounds.maxLogId !== undefined) {
      where.push("log_id <= ?");
      params.push(bounds.maxLogId);
    }
    if (bounds.before !== undefined) {
      where.push("log_id < ?");
      params.push(bounds.before);
    }
    return { where, params };
  };
  const og = f.originalGroup !== undefined;
  const branch = (index: string, extra: string[], extraParams: unknown[], b: Partial<Branch> = {}): Branch => {
    const c = common();
    return {
      index,
      where: [...c.where, ...extra],
      params: [...c.params, ...extraParams],
      newestFirst: "log_id DESC",
      ...b,
    };
  };
  // One failure group's rows, newest first; within one original group too when the filter has one.
  const groupIndex = og ? "queue_messages_topic_original_group" : "queue_messages_topic_failure_group";

  if (!f.search) {
    if (f.failureGroup !== undefined) return [branch(groupIndex, [], [])];
    // The newest page comes off (topic, log_id); a count reads an index that holds every condition.
    return [branch("queue_messages_topic_log", [], [], { countIndex: groupIndex })];
  }
  const s = f.search;
  // A failure group whose every reason holds the text is read whole; the id and key branches
  // then leave its rows out, so that a count adds the group's kept count to theirs.
  const wholeGroup = (g: string) => branch(groupIndex, ["failure_group = ?"], [g], { whole: g });
  if (f.failureGroup !== undefined && groupHolds(f.failureGroup, s)) return [wholeGroup(f.failureGroup)];
  const idAndKey = (wholes: string[]) => {
    const not = wholes.length === 0 ? [] : ["failure_group NOT IN (?)"];
    const notParams = wholes.length === 0 ? [] : [wholes];
    return [
      branch("queue_messages_topic_dlq_id", ["dlq_message_id = ?", ...not], [s, ...notParams]),
      branch("queue_messages_partition_seq", ["partition_key = ?", ...not], [s, ...notParams], {
        newestFirst: "seq DESC",
      }),
    ];
  };
  const branches = idAndKey([]);
  const pattern = `%${s.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const walk = () => [
    ...branches,
    branch("queue_messages_topic_log", ["failure_reason COLLATE utf8mb4_general_ci LIKE ?"], [pattern]),
  ];
  // A group's text is read from the index (dlq_reason) for reasons of up to 191 characters, and
  // from the rows for the longer ones only (their dlq_reason is NULL).
  const inGroup = (g: string | undefined): Branch[] => {
    const pin = g === undefined ? [] : ["failure_group = ?"];
    const pinned = g === undefined ? [] : [g];
    return [
      branch(groupIndex, [...pin, "dlq_reason COLLATE utf8mb4_general_ci LIKE ?"], [...pinned, pattern]),
      branch(
        groupIndex,
        [...pin, "dlq_reason IS NULL", "failure_reason COLLATE utf8mb4_general_ci LIKE ?"],
        [...pinned, pattern],
      ),
    ];
  };
  if (f.failureGroup !== undefined) {
    return groupMayContain(f.failureGroup, s) ? [...branches, ...inGroup(undefined)] : branches;
  }
  const groups = await distinctGroups(db, f.topic);
  if (groups === null) return walk();
  const candidates = groups.filter((g) => groupMayContain(g, s));
  if (candidates.length > MAX_GROUP_BRANCHES) return walk();
  const wholes = candidates.filter((g) => groupHolds(g, s));
  return [
    ...idAndKey(wholes),
    ...wholes.map(wholeGroup),
    ...candidates.filter((g) => !wholes.includes(g)).flatMap(inGroup),
  ];
}

/** The topic's failure groups, one index probe each; null when there are too many to be worth pruning. */
async function distinctGroups(db: Reader, topic: string): Promise<string[] | null> {
  // GROUP BY both columns, not DISTINCT failure_group: only this form gets MariaDB's loose
  // index scan (one probe per group) instead of reading every DLQ row's index entry.
  const rows = await db.query<{ failure_group: string }>(
    `SELECT topic, failure_group FROM queue_messages FORCE INDEX (queue_messages_topic_failure_group)
     WHERE topic = ? AND failure_group IS NOT NULL GROUP BY topic, failure_group LIMIT ?`,
    [topic, MAX_GROUPS_LOOKED_AT + 1],
  );
  return rows.length > MAX_GROUPS_LOOKED_AT ? null : rows.map((r) => r.failure_group);
}

/** One branch's SELECT of `columns`, newest first, at most `limit` rows. */
function branchSelect(b: Branch, columns: string, limit: number): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT ${columns} FROM queue_messages FORCE INDEX (${b.index}) WHERE ${b.where.join(" AND ")} ORDER BY ${b.newestFirst} LIMIT ?`,
    params: [...b.params, limit],
  };
}

/**
 * The newest `limit` matching rows' `columns`, newest first, each row once.
 * The branches return log ids only (from their indexes, mostly without
 * reading a row); the rows of the page are read by id afterwards.
 */
async function selectNewest<T extends { log_id: number }>(
  db: Reader,
  branches: Branch[],
  columns: string,
  limit: number,
): Promise<T[]> {
  const parts = branches.map((b) => branchSelect(b, "log_id", limit));
  const found = await db.query<{ log_id: number }>(
    parts.length === 1 ? (parts[0]?.sql ?? "") : parts.map((p) => `(${p.sql})`).join(" UNION ALL "),
    parts.flatMap((p) => p.params),
  );
  const ids = [...new Set(found.map((r) => Number(r.log_id)))].sort((a, b) => b - a).slice(0, limit);
  if (columns === "log_id") return ids.map((id) => ({ log_id: id }) as T);
  if (ids.length === 0) return [];
  const rows = await db.query<T>(`SELECT ${columns} FROM queue_messages WHERE log_id IN (?) ORDER BY log_id DESC`, [
    ids,
  ]);
  return rows;
}

/** Log ids of the newest `limit` matching rows, newest first: what a job's batch takes. */
export async function newestDlqIds(db: Reader, f: DlqFilter, bounds: DlqBounds, limit: number): Promise<number[]> {
  const rows = await selectNewest<{ log_id: number }>(db, await planDlq(db, f, bounds), "log_id", limit);
  return rows.map((r) => Number(r.log_id));
}

/** The SQL a read of `f` sends (for the console benchmark's explanations). */
export async function dlqListSql(db: Reader, f: DlqFilter, limit: number): Promise<{ sql: string; params: unknown[] }> {
  const parts = (await planDlq(db, f)).map((b) => branchSelect(b, "log_id", limit));
  return {
    sql: parts.map((p) => `(${p.sql})`).join(" UNION ALL "),
    params: parts.flatMap((p) => p.params),
  };
}

const ROW_COLUMNS =
  "log_id, partition_key, seq, message_id, failure_reason, failure_group, failure_count, failed_at, original_topic, original_group";

type RawDlq = {
  log_id: number;
  partition_key: string;
  seq: number;
  message_id: string;
  failure_reason: string;
  failure_group: string | null;
  failure_count: number;
  failed_at: number;
  original_topic: string;
  original_group: string;
};

function toDlqRow(topic: string, r: RawDlq): DlqRow {
  return {
    logId: Number(r.log_id),
    topic,
    partitionKey: r.partition_key,
    seq: Number(r.seq),
    id: r.message_id,
    reason: r.failure_reason,
    failureGroup: r.failure_group,
    failureCount: Number(r.failure_count),
    failedAt: Number(r.failed_at),
    originalTopic: r.original_topic,
    originalGroup: r.original_group,
  };
}

export interface DlqPageOptions {
  /** Only rows with a log id below this (the `next` of the page before). Default: from the newest. */
  before?: number;
  /** The most rows to return. */
  limit: number;
}

export interface DlqPage {
  /** Newest failure first. */
  rows: DlqRow[];
  /** Pass back as `before` for the next page; null at the end. */
  next: number | null;
}

/** Newest failures first, keyset-paged on log_id. */
export async function listDlq(db: QueueDb, filter: DlqFilter, opts: DlqPageOptions): Promise<DlqPage> {
  const branches = await planDlq(db, filter, { before: opts.before });
  const rows = await selectNewest<RawDlq>(db, branches, ROW_COLUMNS, opts.limit + 1);
  const page = rows.slice(0, opts.limit).map((r) => toDlqRow(filter.topic, r));
  return { rows: page, next: rows.length > opts.limit ? (page.at(-1)?.logId ?? null) : null };
}

/** DLQ topics: topics whose rows carry failures. */
export async function listDlqTopics(db: QueueDb, suffix = "_dlq"): Promise<string[]> {
  const rows = await db.query<{ topic: string }>(
    "SELECT DISTINCT topic FROM queue_partitions WHERE topic LIKE ? ORDER BY topic",
    [`%${suffix.replace(/[\\%_]/g, (c) => `\\${c}`)}`],
  );
  return rows.map((r) => r.topic);
}

export interface DlqDetail extends DlqRow {
  payload: Buffer;
  metadata: Record<string, string>;
  /** When it was published to the DLQ, ms on the database's clock. */
  publishedAt: number;
}

export async function getDeadLetter(
  db: QueueDb,
  topic: string,
  partitionKey: string,
  seq: number,
): Promise<DlqDetail | null> {
  const [r] = await db.query<RawDlq & { payload: Buffer; metadata: string | null; published_at: number }>(
    `SELECT ${ROW_COLUMNS}, payload, metadata, published_at FROM queue_messages
     WHERE topic = ? AND partition_key = ? AND seq = ? AND ${DLQ_ROW}`,
    [topic, partitionKey, seq],
  );
  if (!r) return null;
  return {
    ...toDlqRow(topic, r),
    payload: r.payload,
    metadata: parseMetadata(r.metadata),
    publishedAt: Number(r.published_at),
  };
}
