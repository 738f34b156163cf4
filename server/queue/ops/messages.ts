// A topic's messages for the console: newest first, paged by keyset (log_id),
// with each row's state for one consumer group. States that cannot be read
// off an index (ready, done) are found by a bounded scan: a page reads at most
// SCAN_LIMIT rows and says where to go on, so no request scans the whole log.
import { AttemptOutcome, DeliveryState } from "@/db/schema";
import { NOW_MS, type QueueDb } from "@/server/queue/db";
import { parseMetadata } from "@/server/queue/fetch";

export const MESSAGE_STATES = ["ready", "in_flight", "retrying", "deferred", "done", "dead", "other_group"] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];
/** What a list can ask for: every row, or the rows in one state for the group ("dead": the group dead-lettered them). */
export const STATE_FILTERS = ["all", "ready", "in_flight", "retrying", "deferred", "done", "dead"] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export const SCAN_LIMIT = 5_000;

export interface MessageRow {
  /** The row's id across the whole log: pages run newest first by it, and `next` and `before` carry it. */
  logId: number;
  /** The partition it was published to. */
  partitionKey: string;
  /** Its place in the partition, from 1; a deduplicated publish leaves a gap. */
  seq: number;
  /** The message id given at publish. */
  id: string;
  /** When it was appended to the log, ms on the database's clock. */
  publishedAt: number;
  /** When subscribers may have it, ms on the database's clock: 0 when published without a delay, the moment of a "deliver now" after one. */
  visibleAfter: number;
  /** For the group asked about; with no group, "deferred" for a row not yet visible and null otherwise. */
  state: MessageState | null;
  /** Deliveries of it to the group so far (once its delivery row is collected, its last kept attempt's number); 0 with no group. */
  attempts: number;
}

export interface MessagePage {
  messages: MessageRow[];
  /** Pass back as `before` for the next page; null at the end. */
  next: number | null;
  /** Rows read to fill the page (bounded scans). */
  scanned: number;
}

export interface Raw {
  log_id: number;
  partition_key: string;
  seq: number;
  message_id: string;
  published_at: number;
  visible_after: number;
  target_group: string | null;
  watermark: number | null;
  d_state: number | null;
  d_attempts: number | null;
  d_visible_at: number | null;
  d_owner: string | null;
  /** The group's last kept attempt of a finished message whose delivery row was collected. */
  h_attempt: number | null;
  h_outcome: number | null;
  now: number;
}

// Garbage collection deletes a finished message's delivery rows (its count of
// attempts, and whether it was acked or dead-lettered) before the message; its
// attempt rows stay until the message goes, and stand in for them. Read only
// for such rows (CASE evaluates the probe lazily): one primary-key probe each.
const lastAttempt = (column: string) => `CASE WHEN d.state IS NULL AND m.seq <= g.watermark THEN
  (SELECT a.${column} FROM queue_attempts a
   WHERE a.topic = m.topic AND a.partition_key = m.partition_key AND a.seq = m.seq AND a.consumer_group = g.consumer_group
   ORDER BY a.fetch_no DESC LIMIT 1) END`;

// No payload here: a list never reads the blobs.
export const COLUMNS = `m.log_id, m.partition_key, m.seq, m.message_id, m.published_at, m.visible_after,
  m.target_group, g.watermark,
  d.state AS d_state, d.attempts AS d_attempts, d.visible_at AS d_visible_at, d.owner AS d_owner,
  ${lastAttempt("attempt")} AS h_attempt, ${lastAttempt("outcome")} AS h_outcome, ${NOW_MS} AS now`;

const JOINS = `
  LEFT JOIN queue_group_partitions g ON g.consumer_group = ? AND g.topic = m.topic AND g.partition_key = m.partition_key
  LEFT JOIN queue_deliveries d ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq`;

export function stateOf(r: Raw, group: string | null): MessageState | null {
  if (Number(r.visible_after) > Number(r.now)) return "deferred";
  if (group === null) return null;
  if (r.target_group !== null && r.target_group !== group) return "other_group";
  // Ahead of the watermark test: a dead-lettered row is finished too, so the watermark passes it.
  if (r.d_state === DeliveryState.dead) return "dead";
  if (r.watermark !== null && Number(r.seq) <= Number(r.watermark)) return deadLettered(r) ? "dead" : "done";
  if (r.d_state === DeliveryState.acked) return "done";
  if (r.d_state === DeliveryState.inFlight && Number(r.d_visible_at) > Number(r.now)) {
    return r.d_owner ? "in_flight" : "retrying";
  }
  return "ready";
}

/**
 * A finished message without its delivery row was dead-lettered when its last
 * attempt was: rejected or nacked for good, or timed out (an expired attempt is
 * closed by the next fetch, which either opens another attempt or, with none
 * left, moves the message to the DLQ).
 */
function deadLettered(r: Raw): boolean {
  if (r.d_state !== null || r.h_outcome === null) return false;
  const outcome = Number(r.h_outcome);
  return outcome === AttemptOutcome.deadLettered || outcome === AttemptOutcome.expired;
}

/** Attempts used: the delivery row's count, or once it is collected the last kept attempt's number. */
function attemptsOf(r: Raw): number {
  return Number(r.d_attempts ?? r.h_attempt ?? 0);
}

function toRow(r: Raw, group: string | null): MessageRow {
  return {
    logId: Number(r.log_id),
    partitionKey: r.partition_key,
    seq: Number(r.seq),
    id: r.message_id,
    publishedAt: Number(r.published_at),
    visibleAfter: Number(r.visible_after),
    state: stateOf(r, group),
    attempts: attemptsOf(r),
  };
}

export interface MessageListOptions {
  /** The consumer group whose view of the rows is shown (their state); null: the log alone, no state. */
  group: string | null;
  /** Only rows in this state for `group` ("all": every row). */
  state: StateFilter;
  /** Only this partition's rows. Default: every partition. */
  partitionKey?: string;
  /** Only rows with a log id below this (the `next` of the page before). Default: from the newest. */
  before?: number;
  /** The most rows to return. */
  limit: number;
}

export async function listMessages(db: QueueDb, topic: string, opts: MessageListOptions): Promise<MessagePage> {
  const group = opts.group;
  const byPartition = opts.partitionKey === undefined ? "" : "AND m.partition_key = ?";
  const partParam = opts.partitionKey === undefined ? [] : [opts.partitionKey];
  const before = opts.before === undefined ? "" : "AND m.log_id < ?";
  const beforeParam = opts.before === undefined ? [] : [opts.before];

  if (opts.state === "deferred") {
    // Index (topic, visible_after): newest-first by log id among the deferred rows.
    const rows = await db.query<Raw>(
      `SELECT ${COLUMNS} FROM queue_messages m ${JOINS}
       WHERE m.topic = ? AND m.visible_after > ${NOW_MS} ${byPartition} ${before}
       ORDER BY m.log_id DESC LIMIT ?`,
      [group, group, topic, ...partParam, ...beforeParam, opts.limit + 1],
    );
    return page(rows, opts.limit, group, rows.length);
  }
  if ((opts.state === "in_flight" || opts.state === "retrying") && group !== null) {
    // Only the delivery window of the group has such rows.
    const rows = await db.query<Raw>(
      `SELECT ${COLUMNS} FROM queue_deliveries d0
       JOIN queue_messages m ON m.topic = d0.topic AND m.partition_key = d0.partition_key AND m.seq = d0.seq
       ${JOINS}
       WHERE d0.consumer_group = ? AND d0.topic = ? AND d0.state = ${DeliveryState.inFlight} AND d0.visible_at > ${NOW_MS}
         AND d0.owner IS ${opts.state === "in_flight" ? "NOT NULL" : "NULL"} ${byPartition} ${before}
       ORDER BY m.log_id DESC LIMIT ?`,
      [group, group, group, topic, ...partParam, ...beforeParam, opts.limit + 1],
    );
    return page(rows, opts.limit, group, rows.length);
  }
  // all / ready / done / dead: walk newest first, at most SCAN_LIMIT rows. Within a
  // partition, seq follows log_id, so its own index serves (the cursor is
  // turned into a seq); across a topic, the (topic, log_id) index, pinned
  // because the planner may otherwise walk the whole log's primary key.
  const inner =
    opts.partitionKey === undefined
      ? `FROM queue_messages m FORCE INDEX (queue_messages_topic_log)
         WHERE m.topic = ? ${before} ORDER BY m.log_id DESC LIMIT ?`
      : `FROM queue_messages m
         WHERE m.topic = ? AND m.partition_key = ?
           ${opts.before === undefined ? "" : "AND m.seq < (SELECT c.seq FROM queue_messages c WHERE c.log_id = ?)"}
         ORDER BY m.seq DESC LIMIT ?`;
  const rows = await db.query<Raw>(
    `SELECT ${COLUMNS} FROM (
       SELECT m.log_id, m.topic, m.partition_key, m.seq, m.message_id, m.published_at, m.visible_after, m.target_group
       ${inner}
     ) m ${JOINS}
     ORDER BY m.log_id DESC`,
    [topic, ...partParam, ...beforeParam, opts.state === "all" ? opts.limit + 1 : SCAN_LIMIT, group, group],
  );
  if (opts.state === "all") return page(rows, opts.limit, group, rows.length);
  const wanted = rows.filter((r) => stateOf(r, group) === opts.state);
  if (wanted.length > opts.limit) return page(wanted, opts.limit, group, rows.length);
  const exhausted = rows.length < SCAN_LIMIT;
  return {
    messages: wanted.map((r) => toRow(r, group)),
    next: exhausted ? null : Number(rows.at(-1)?.log_id),
    scanned: rows.length,
  };
}

function page(rows: Raw[], limit: number, group: string | null, scanned: number): MessagePage {
  const shown = rows.slice(0, limit);
  return {
    messages: shown.map((r) => toRow(r, group)),
    next: rows.length > limit ? Number(shown.at(-1)?.log_id) : null,
    scanned,
  };
}

export interface MessageDetail {
  topic: string;
  logId: number;
  partitionKey: string;
  seq: number;
  id: string;
  payload: Buffer;
  metadata: Record<string, string>;
  publishedAt: number;
  visibleAfter: number;
  targetGroup: string | null;
  failure: {
    reason: string;
    count: number;
    failedAt: number;
    originalTopic: string;
    originalGroup: string;
    originalSeq: number | null;
    group: string | null;
  } | null;
  groups: Array<{
    group: string;
    state: MessageState | null;
    attempts: number;
    lastError: string | null;
    firstDeliveredAt: number | null;
  }>;
}

export async function getMessage(
  db: QueueDb,
  topic: string,
  partitionKey: string,
  seq: number,
): Promise<MessageDetail | null> {
  const [m] = await db.query<{
    log_id: number;
    message_id: string;
    payload: Buffer;
    metadata: string | null;
    published_at: number;
    visible_after: number;
    target_group: string | null;
    failure_reason: string | null;
    failure_count: number | null;
    failed_at: number | null;
    original_topic: string | null;
    original_group: string | null;
    original_seq: number | null;
    failure_group: string | null;
  }>("SELECT * FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq = ?", [topic, partitionKey, seq]);
  if (!m) return null;
  // A collected delivery row's first fetch is the oldest kept attempt's (COLUMNS has the rest).
  const groups = await db.query<
    Raw & {
      consumer_group: string;
      last_error: string | null;
      first_delivered_at: number | null;
      a_first: number | null;
    }
  >(
    `SELECT qg.consumer_group, ${COLUMNS},
            d.last_error, d.first_delivered_at, a.a_first
     FROM queue_groups qg
     JOIN queue_messages m ON m.topic = qg.topic AND m.partition_key = ? AND m.seq = ?
     LEFT JOIN queue_group_partitions g ON g.consumer_group = qg.consumer_group AND g.topic = m.topic AND g.partition_key = m.partition_key
     LEFT JOIN queue_deliveries d ON d.consumer_group = qg.consumer_group AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     LEFT JOIN (SELECT consumer_group, MIN(fetched_at) AS a_first FROM queue_attempts
                WHERE topic = ? AND partition_key = ? AND seq = ? GROUP BY consumer_group) a
       ON a.consumer_group = qg.consumer_group
     WHERE qg.topic = ?
     ORDER BY qg.consumer_group`,
    [partitionKey, seq, topic, partitionKey, seq, topic],
  );
  return {
    topic,
    logId: Number(m.log_id),
    partitionKey,
    seq,
    id: m.message_id,
    payload: m.payload,
    metadata: parseMetadata(m.metadata),
    publishedAt: Number(m.published_at),
    visibleAfter: Number(m.visible_after),
    targetGroup: m.target_group,
    failure:
      m.failure_reason === null
        ? null
        : {
            reason: m.failure_reason,
            count: Number(m.failure_count ?? 0),
            failedAt: Number(m.failed_at ?? 0),
            originalTopic: m.original_topic ?? "",
            originalGroup: m.original_group ?? "",
            originalSeq: m.original_seq === null ? null : Number(m.original_seq),
            group: m.failure_group,
          },
    groups: groups.map((g) => ({
      group: g.consumer_group,
      state: stateOf(g, g.consumer_group),
      attempts: attemptsOf(g),
      lastError: g.last_error,
      firstDeliveredAt:
        g.first_delivered_at !== null ? Number(g.first_delivered_at) : g.a_first === null ? null : Number(g.a_first),
    })),
  };
}
