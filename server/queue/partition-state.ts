// Per consumer group and partition: the lease, the watermark and the delivery
// rows above it. Every change to a partition's delivery rows happens in a
// transaction that first locks the group-partition row (FOR UPDATE), so
// fetches, settles and watermark moves of one partition never interleave.
import { DeliveryState } from "../../db/schema";
import { type Executor, NOW_MS } from "./db";
import { appendToLog } from "./log";

export interface PartitionRef {
  group: string;
  topic: string;
  partitionKey: string;
}

export interface DlqSettings {
  enabled: boolean;
  topicSuffix: string;
}

/** What a DLQ move needs to know of the failed row. */
export interface FailedRow {
  seq: number;
  logId: number;
  messageId: string;
  payload: Buffer;
  metadata: Record<string, string>;
}

const REF = "consumer_group = ? AND topic = ? AND partition_key = ?";
const refParams = (r: PartitionRef) => [r.group, r.topic, r.partitionKey];

export async function lockGroupPartition(
  c: Executor,
  ref: PartitionRef,
): Promise<{ watermark: number; leaseOwner: string | null; leaseValid: boolean } | undefined> {
  const [row] = await c.query<{ watermark: number; lease_owner: string | null; lease_valid: number | null }>(
    `SELECT watermark, lease_owner, lease_expires_at >= ${NOW_MS} AS lease_valid
     FROM queue_group_partitions WHERE ${REF} FOR UPDATE`,
    refParams(ref),
  );
  if (!row) return undefined;
  return { watermark: Number(row.watermark), leaseOwner: row.lease_owner, leaseValid: row.lease_valid === 1 };
}

/** Rows of the partition this group has still to finish, ready now, in log order. */
export const READY_ROWS = `
  FROM queue_messages m
  LEFT JOIN queue_deliveries d
    ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
  WHERE m.topic = ? AND m.partition_key = ? AND m.seq > ?
    AND m.visible_after <= ${NOW_MS}
    AND (m.target_group IS NULL OR m.target_group = ?)
    AND (d.seq IS NULL OR (d.state = ${DeliveryState.inFlight} AND d.visible_at <= ${NOW_MS}))`;

/**
 * Rows still out with a subscriber: one whose lease this subscriber took over
 * (typically after a crash), or this subscriber's own delivery that its
 * process already counts as timed out while the database's clock does not yet.
 * Rows after them wait until they come back, so the partition keeps its order.
 * Nacked rows have no owner: a nack delay lets later rows pass, as nack means.
 */
export const BLOCKING_IN_FLIGHT = `
  SELECT MIN(x.seq) AS seq FROM queue_deliveries x
  WHERE x.consumer_group = ? AND x.topic = ? AND x.partition_key = ?
    AND x.state = ${DeliveryState.inFlight} AND x.owner IS NOT NULL AND x.visible_at > ${NOW_MS}`;

/**
 * Moves the watermark up to just below the first row this group has not
 * finished (acked, dead, or addressed to another group), or to the partition's
 * head when there is none. The head and
 * the first unfinished row are read in one statement, so they agree: seqs
 * commit in order (log.ts), so no row below the head can appear later.
 */
export async function advanceWatermark(c: Executor, ref: PartitionRef, current: number): Promise<number> {
  const [row] = await c.query<{ blocker: number | null; head: number | null }>(
    `SELECT
       (SELECT MIN(m.seq) FROM queue_messages m
          LEFT JOIN queue_deliveries d
            ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
          WHERE m.topic = ? AND m.partition_key = ? AND m.seq > ?
            AND (m.target_group IS NULL OR m.target_group = ?)
            AND (d.seq IS NULL OR d.state = ${DeliveryState.inFlight})) AS blocker,
       (SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?) AS head`,
    [ref.group, ref.topic, ref.partitionKey, current, ref.group, ref.topic, ref.partitionKey],
  );
  const next = row?.blocker != null ? Number(row.blocker) - 1 : Number(row?.head ?? current);
  if (next <= current) return current;
  await c.execute(`UPDATE queue_group_partitions SET watermark = ?, updated_at = ${NOW_MS} WHERE ${REF}`, [
    next,
    ...refParams(ref),
  ]);
  // The delivery rows it passed are never read again; garbage collection deletes them in bulk.
  return next;
}

/**
 * Marks the delivery dead for this group and, with the DLQ on, appends the
 * message to <topic><suffix> with its failure, in the caller's transaction:
 * the message is never in zero places. The DLQ row's dedup origin is the group
 * and the source row, so a repeated move is a no-op rather than an error, and
 * the same id failing in another group, or again after a requeue, gets its own
 * row. Other groups' delivery state is untouched.
 */
export async function markDead(
  c: Executor,
  ref: PartitionRef,
  row: FailedRow,
  attempts: number,
  reason: string,
  dlq: DlqSettings,
): Promise<void> {
  await c.execute(
    `INSERT INTO queue_deliveries
       (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at)
     VALUES (?, ?, ?, ?, ${DeliveryState.dead}, ?, 0, NULL, ?, ${NOW_MS}, ${NOW_MS})
     ON DUPLICATE KEY UPDATE state = VALUES(state), last_error = VALUES(last_error), owner = NULL, updated_at = VALUES(updated_at)`,
    [...refParams(ref), row.seq, attempts, reason],
  );
  if (!dlq.enabled) return;
  await appendToLog(c, [
    {
      topic: ref.topic + dlq.topicSuffix,
      partitionKey: ref.partitionKey,
      messageId: row.messageId,
      origin: `dlq:${ref.group}:${row.logId}`,
      payload: row.payload,
      metadata: row.metadata,
      delayMs: 0,
      failure: {
        reason,
        count: attempts,
        originalTopic: ref.topic,
        originalGroup: ref.group,
        originalSeq: row.seq,
      },
    },
  ]);
}

export async function releaseLease(c: Executor, ref: PartitionRef, owner: string): Promise<void> {
  await c.execute(
    `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ${NOW_MS}
     WHERE ${REF} AND lease_owner = ?`,
    [...refParams(ref), owner],
  );
}

export const deliveryWhere = `${REF} AND seq = ? AND attempts = ? AND state = ${DeliveryState.inFlight}`;
export const deliveryParams = (ref: PartitionRef, seq: number, attempt: number) => [...refParams(ref), seq, attempt];
