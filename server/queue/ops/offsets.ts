// Operator actions on one consumer group's position in one partition: take a
// lease away from a subscriber, and move the group's watermark (replay or
// skip). Both lock the group-partition row FOR UPDATE, like every change to a
// partition's delivery state (partition-state.ts), so they never interleave
// with a subscriber's fetch or settle of that partition.
import { type AdminOptions, type Executor, NOW_MS, type QueueDb } from "@/server/queue/db";
import { invalid, QueueError } from "@/server/queue/errors";
import { checkText, checkTopic, GROUP_MAX, PARTITION_KEY_MAX } from "@/server/queue/names";
import { lockGroupPartition, type PartitionRef, RELEASE_MARKS } from "@/server/queue/partition-state";

function checkRef(group: string, topic: string, partitionKey: string): PartitionRef {
  checkText(group, "group", GROUP_MAX);
  checkTopic(topic);
  checkText(partitionKey, "partitionKey", PARTITION_KEY_MAX);
  return { group, topic, partitionKey };
}

const describeRef = (r: PartitionRef) => `group ${r.group}, topic ${r.topic}, partition ${r.partitionKey}`;

export interface ReleasedLease {
  /** The subscriber instance that held a live lease, or null when none did. */
  previousOwner: string | null;
}

/**
 * Takes the partition's lease away from whoever holds it, so any live
 * subscriber of the group may claim it at its next poll (e.g. one stuck
 * subscriber that still heartbeats). Deliveries it has out stay in flight
 * until they are settled or time out.
 */
export async function releaseLease(
  db: QueueDb,
  group: string,
  topic: string,
  partitionKey: string,
  opts: AdminOptions = {},
): Promise<ReleasedLease> {
  const ref = checkRef(group, topic, partitionKey);
  return db.tx(async (c) => {
    const row = await lockGroupPartition(c, ref);
    if (!row) throw new QueueError("NOT_FOUND", `no lease or offset for ${describeRef(ref)}`);
    await c.execute(
      `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, ${RELEASE_MARKS}, updated_at = ${NOW_MS}
       WHERE consumer_group = ? AND topic = ? AND partition_key = ?`,
      [ref.group, ref.topic, ref.partitionKey],
    );
    const previousOwner = row.leaseValid ? row.leaseOwner : null;
    await opts.within?.(c, previousOwner === null ? 0 : 1);
    return { previousOwner };
  });
}

export interface OffsetReset {
  previousWatermark: number;
  watermark: number;
  headSeq: number;
  /** Delivery rows deleted above the new watermark: those messages are delivered again. */
  clearedDeliveries: number;
  /** The live lease that --force took away, if any. */
  releasedOwner: string | null;
}

export interface ResetOffsetOptions extends AdminOptions {
  /** Reset even while a subscriber holds a live lease on the partition, taking that lease away. Default false. */
  force?: boolean;
}

/**
 * Sets the group's watermark of one partition to `toSeq` (0 replays the whole
 * partition; the head skips everything) and deletes the group's delivery rows
 * above it, so every message after `toSeq` counts as never delivered. Refused
 * while a subscriber holds a live lease on the partition (its in-flight
 * deliveries would be redelivered under it) unless `force`, which also
 * releases that lease.
 */
export async function resetOffset(
  db: QueueDb,
  group: string,
  topic: string,
  partitionKey: string,
  toSeq: number,
  opts: ResetOffsetOptions = {},
): Promise<OffsetReset> {
  const ref = checkRef(group, topic, partitionKey);
  if (!Number.isSafeInteger(toSeq) || toSeq < 0) throw invalid("toSeq must be an integer of 0 or more");
  return db.tx(async (c) => {
    const headSeq = await partitionHead(c, ref);
    if (toSeq > headSeq) {
      throw invalid(`toSeq ${toSeq} is past the head of partition ${ref.partitionKey} (${headSeq})`);
    }
    const [known] = await c.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_groups WHERE consumer_group = ? AND topic = ?",
      [ref.group, ref.topic],
    );
    if (Number(known?.n ?? 0) === 0)
      throw new QueueError("NOT_FOUND", `no consumer group ${ref.group} on ${ref.topic}`);
    // A group that never leased this partition has no row yet: its watermark is 0.
    await c.execute(
      `INSERT INTO queue_group_partitions (consumer_group, topic, partition_key, watermark, updated_at)
       VALUES (?, ?, ?, 0, ${NOW_MS}) ON DUPLICATE KEY UPDATE updated_at = updated_at`,
      [ref.group, ref.topic, ref.partitionKey],
    );
    const row = await lockGroupPartition(c, ref);
    if (!row) throw new Error(`group partition row for ${describeRef(ref)} vanished`);
    const live = row.leaseValid && row.leaseOwner !== null;
    if (live && !opts.force) {
      throw new QueueError(
        "INVALID_ARGUMENT",
        `subscriber ${row.leaseOwner} holds a live lease on ${describeRef(ref)}; stop it, release the lease, or force`,
      );
    }
    await c.execute(
      `UPDATE queue_group_partitions
       SET watermark = ?, idle_until = NULL, idle_head = NULL, updated_at = ${NOW_MS} ${live ? ", lease_owner = NULL, lease_expires_at = NULL" : ""}
       WHERE consumer_group = ? AND topic = ? AND partition_key = ?`,
      [toSeq, ref.group, ref.topic, ref.partitionKey],
    );
    const { affectedRows } = await c.execute(
      "DELETE FROM queue_deliveries WHERE consumer_group = ? AND topic = ? AND partition_key = ? AND seq > ?",
      [ref.group, ref.topic, ref.partitionKey, toSeq],
    );
    // Their attempts go with them: those messages start their history again.
    await c.execute(
      "DELETE FROM queue_attempts WHERE topic = ? AND partition_key = ? AND seq > ? AND consumer_group = ?",
      [ref.topic, ref.partitionKey, toSeq, ref.group],
    );
    await opts.within?.(c, affectedRows);
    return {
      previousWatermark: row.watermark,
      watermark: toSeq,
      headSeq,
      clearedDeliveries: affectedRows,
      releasedOwner: live ? row.leaseOwner : null,
    };
  });
}

async function partitionHead(c: Executor, ref: PartitionRef): Promise<number> {
  const [p] = await c.query<{ head_seq: number }>(
    "SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?",
    [ref.topic, ref.partitionKey],
  );
  if (!p) throw new QueueError("NOT_FOUND", `no partition ${ref.partitionKey} in topic ${ref.topic}`);
  return Number(p.head_seq);
}
