// Reading the dead-letter queue: list, search, group by normalised failure,
// and exact counts for what an operator is about to requeue or purge.
import type { QueueDb } from "../db";
import { parseMetadata } from "../fetch";

export interface DlqFilter {
  /** The DLQ topic, e.g. orders_dlq. */
  topic: string;
  /** Matches the message id or the partition key exactly, or appears in the failure reason. */
  search?: string;
  /** A normalised failure (see failure-group.ts). */
  failureGroup?: string;
  /** The consumer group the message failed in. */
  originalGroup?: string;
}

export interface DlqRow {
  logId: number;
  topic: string;
  partitionKey: string;
  seq: number;
  id: string;
  reason: string;
  failureGroup: string | null;
  failureCount: number;
  failedAt: number;
  originalTopic: string;
  originalGroup: string;
}

/**
 * The table and index a filter reads. MariaDB's planner sometimes walks the
 * primary key of the whole log backwards for these (a second for 1M rows);
 * the topic's own index bounds the read to the DLQ's rows.
 */
export function dlqSource(f: DlqFilter): string {
  const index = f.failureGroup !== undefined ? "queue_messages_topic_failure_group" : "queue_messages_topic_log";
  return `queue_messages FORCE INDEX (${index})`;
}

/** The WHERE clause of a filter; `maxLogId` pins the rows that existed at some moment. */
export function dlqWhere(f: DlqFilter, maxLogId?: number): { sql: string; params: unknown[] } {
  const parts = ["topic = ?", "failure_reason IS NOT NULL"];
  const params: unknown[] = [f.topic];
  if (f.search) {
    const like = `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // Reasons compare case-insensitively; ids and keys exactly (the columns are binary).
    parts.push("(message_id = ? OR partition_key = ? OR failure_reason COLLATE utf8mb4_general_ci LIKE ?)");
    params.push(f.search, f.search, like);
  }
  if (f.failureGroup !== undefined) {
    parts.push("failure_group = ?");
    params.push(f.failureGroup);
  }
  if (f.originalGroup !== undefined) {
    parts.push("original_group = ?");
    params.push(f.originalGroup);
  }
  if (maxLogId !== undefined) {
    parts.push("log_id <= ?");
    params.push(maxLogId);
  }
  return { sql: parts.join(" AND "), params };
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

/** Newest failures first, keyset-paged on log_id. */
export async function listDlq(
  db: QueueDb,
  filter: DlqFilter,
  opts: { before?: number; limit: number },
): Promise<{ rows: DlqRow[]; next: number | null }> {
  const w = dlqWhere(filter);
  const rows = await db.query<RawDlq>(
    `SELECT ${ROW_COLUMNS} FROM ${dlqSource(filter)}
     WHERE ${w.sql} ${opts.before === undefined ? "" : "AND log_id < ?"}
     ORDER BY log_id DESC LIMIT ?`,
    [...w.params, ...(opts.before === undefined ? [] : [opts.before]), opts.limit + 1],
  );
  const page = rows.slice(0, opts.limit).map((r) => toDlqRow(filter.topic, r));
  return { rows: page, next: rows.length > opts.limit ? (page.at(-1)?.logId ?? null) : null };
}

/** The exact number of rows a filter matches (what a requeue or purge would touch). */
export async function countDlq(db: QueueDb, filter: DlqFilter, maxLogId?: number): Promise<number> {
  const w = dlqWhere(filter, maxLogId);
  const [row] = await db.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM ${dlqSource(filter)} WHERE ${w.sql}`,
    w.params,
  );
  return Number(row?.n ?? 0);
}

export interface FailureGroupRow {
  failureGroup: string;
  count: number;
  lastFailedAt: number;
  sampleReason: string;
}

/** Failures grouped by their normalised reason, biggest first. */
export async function dlqFailureGroups(db: QueueDb, topic: string, limit = 50): Promise<FailureGroupRow[]> {
  const groups = await db.query<{ failure_group: string; n: number; newest: number }>(
    `SELECT failure_group, COUNT(*) AS n, MAX(log_id) AS newest FROM queue_messages
     WHERE topic = ? AND failure_group IS NOT NULL
     GROUP BY failure_group ORDER BY n DESC, failure_group LIMIT ?`,
    [topic, limit],
  );
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
     WHERE topic = ? AND partition_key = ? AND seq = ? AND failure_reason IS NOT NULL`,
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
