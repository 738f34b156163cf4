// The DLQ's counts, kept rather than counted: queue_dlq_counts holds how many
// dead letters each (DLQ topic, original group, failure group) has, and every
// write that adds or removes a DLQ row changes it in the same transaction, so
// a committed count is exact. The DLQ page's total and its failure groups
// read those few rows; counting the log took half a second at a million dead
// letters. A count row is updated last in each transaction (after the log's
// rows and heads), and several in key order, so two writers never deadlock
// over them.

import type { Executor, Statement } from "./db";
import { failureGroup } from "./failure-group";
import { appendStatements, dedupKeyOf, type LogRow } from "./log";

/** A DLQ row as the counts see it. */
export interface CountedRow {
  log_id: number;
  topic: string;
  original_group: string | null;
  failure_group: string | null;
}

/** The columns of queue_messages a CountedRow is read from. */
export const COUNTED_COLUMNS = "log_id, topic, original_group, failure_group";

interface Key {
  topic: string;
  originalGroup: string;
  failureGroup: string;
}

const keyId = (k: Key) => JSON.stringify([k.topic, k.originalGroup, k.failureGroup]);

function byKey<T>(items: T[], keyOf: (item: T) => Key | undefined): Array<[Key, T[]]> {
  const groups = new Map<string, [Key, T[]]>();
  for (const item of items) {
    const k = keyOf(item);
    if (!k) continue;
    const id = keyId(k);
    const g = groups.get(id);
    if (g) g[1].push(item);
    else groups.set(id, [k, [item]]);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

/** A row bound for a DLQ topic: it carries its failure. */
export type DeadLetterRow = LogRow & { failure: NonNullable<LogRow["failure"]> };

/**
 * Appends DLQ rows and counts the ones stored. A
 * repeated move is deduped by the log and must not count twice: the insert
 * tallies the duplicates it meets in a session variable, and the count goes
 * up by the rest. One round trip per (topic, original group, failure group)
 * among the rows, usually one.
 */
export async function appendDeadLetters(c: Executor, rows: DeadLetterRow[]): Promise<void> {
  const groups = byKey(rows, (r) => ({
    topic: r.topic,
    originalGroup: r.failure.originalGroup,
    failureGroup: failureGroup(r.failure.reason),
  }));
  for (const [key, group] of groups) {
    const n = group.length;
    await c.script([
      { sql: "SET @sluice_dups = 0" },
      ...(await appendStatements(c, group, { tallyDuplicates: true })),
      {
        sql: `INSERT INTO queue_dlq_counts (topic, original_group, failure_group, dead_letters, newest_log_id)
              SELECT ?, ?, ?, ? - @sluice_dups, MAX(log_id) FROM queue_messages WHERE dedup_key IN (?)
              HAVING ? - @sluice_dups > 0
              ON DUPLICATE KEY UPDATE dead_letters = dead_letters + VALUES(dead_letters),
                newest_log_id = GREATEST(COALESCE(newest_log_id, 0), VALUES(newest_log_id))`,
        params: [key.topic, key.originalGroup, key.failureGroup, n, group.map(dedupKeyOf), n],
      },
    ]);
  }
}

/**
 * The statements that count out deleted DLQ rows (rows without a failure
 * group are not dead letters and are skipped). A group whose newest dead
 * letter went has its newest forgotten; a group left with none is deleted.
 */
export function forgetStatements(rows: CountedRow[]): Statement[] {
  const groups = byKey(rows, (r) =>
    r.failure_group === null
      ? undefined
      : { topic: r.topic, originalGroup: r.original_group ?? "", failureGroup: r.failure_group },
  );
  if (groups.length === 0) return [];
  const statements: Statement[] = groups.map(([k, g]) => ({
    sql: `UPDATE queue_dlq_counts
          SET dead_letters = GREATEST(dead_letters - ?, 0),
              newest_log_id = IF(newest_log_id IN (?), NULL, newest_log_id)
          WHERE topic = ? AND original_group = ? AND failure_group = ?`,
    params: [g.length, g.map((r) => r.log_id), k.topic, k.originalGroup, k.failureGroup],
  }));
  statements.push({
    sql: `DELETE FROM queue_dlq_counts WHERE dead_letters = 0
          AND (topic, original_group, failure_group) IN (${groups.map(() => "(?, ?, ?)").join(", ")})`,
    params: groups.flatMap(([k]) => [k.topic, k.originalGroup, k.failureGroup]),
  });
  return statements;
}

/** Deletes log rows by id, locking them first, and counts the dead letters among them out. Returns the number deleted. */
export async function deleteCounted(c: Executor, logIds: number[]): Promise<number> {
  if (logIds.length === 0) return 0;
  const rows = await c.query<CountedRow>(
    `SELECT ${COUNTED_COLUMNS} FROM queue_messages WHERE log_id IN (?) ORDER BY log_id FOR UPDATE`,
    [logIds],
  );
  if (rows.length === 0) return 0;
  await c.script([
    { sql: "DELETE FROM queue_messages WHERE log_id IN (?)", params: [rows.map((r) => r.log_id)] },
    ...forgetStatements(rows),
  ]);
  return rows.length;
}

/**
 * Counts a topic's dead letters again from its rows, after a delete too wide
 * to read row by row (a purge of the topic). A writer that counted a new dead
 * letter meanwhile holds its count row until it commits, and the recount
 * waits for it, then reads its row; one whose count row was new adds to the
 * recount's.
 */
export function recountStatements(topic: string): Statement[] {
  return [
    { sql: "DELETE FROM queue_dlq_counts WHERE topic = ?", params: [topic] },
    {
      sql: `INSERT INTO queue_dlq_counts (topic, original_group, failure_group, dead_letters, newest_log_id)
            SELECT topic, COALESCE(original_group, ''), failure_group, COUNT(*), MAX(log_id)
            FROM queue_messages FORCE INDEX (queue_messages_topic_original_group)
            WHERE topic = ? AND failure_group IS NOT NULL
            GROUP BY topic, COALESCE(original_group, ''), failure_group
            ON DUPLICATE KEY UPDATE dead_letters = dead_letters + VALUES(dead_letters),
              newest_log_id = GREATEST(COALESCE(newest_log_id, 0), VALUES(newest_log_id))`,
      params: [topic],
    },
  ];
}

/** Topics that hold dead letters (a row in the counts). */
export async function topicsWithDeadLetters(c: Executor, topics: string[]): Promise<Set<string>> {
  if (topics.length === 0) return new Set();
  const rows = await c.query<{ topic: string }>("SELECT DISTINCT topic FROM queue_dlq_counts WHERE topic IN (?)", [
    topics,
  ]);
  return new Set(rows.map((r) => r.topic));
}
