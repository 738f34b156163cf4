// Leases whose holder has gone quiet: its heartbeat (written with every lease
// renewal) is older than a threshold, or it has no subscriber row at all. A
// holder that died keeps its partitions until leaseDurationMs passes, and one
// that hangs while its lease is long keeps them for that long; these are the
// leases an operator looks at, and may take away, when a partition stops
// moving.
import { type AdminOptions, NOW_MS, type QueueDb } from "@/server/queue/db";
import { invalid } from "@/server/queue/errors";
import { checkText, checkTopic, GROUP_MAX, PARTITION_KEY_MAX } from "@/server/queue/names";
import { compareRefs, type PartitionRef } from "@/server/queue/partition-state";

/** The default threshold: the default leaseDurationMs, past which the lease could be taken over anyway. */
export const STALE_LEASE_THRESHOLD_MS = 30_000;
const MAX_THRESHOLD_MS = 30 * 24 * 3600_000;

export interface StaleLease extends PartitionRef {
  /** The subscriber instance recorded as the holder. */
  owner: string;
  /** Its name, host and pid; null when it has no subscriber row (it closed or was collected). */
  subscriber: { name: string; host: string; pid: number } | null;
  heartbeatAt: number | null;
  /** How long since its last heartbeat, ms (null: no subscriber row). */
  silentMs: number | null;
  leaseExpiresAt: number | null;
  /** Past its expiry: any live subscriber of the group may already take it. */
  expired: boolean;
}

export interface HeldLease extends PartitionRef {
  owner: string;
}

function checkThreshold(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_THRESHOLD_MS) {
    throw invalid(`thresholdMs must be an integer from 0 to ${MAX_THRESHOLD_MS}`);
  }
  return ms;
}

type Raw = {
  consumer_group: string;
  topic: string;
  partition_key: string;
  lease_owner: string;
  lease_expires_at: number | null;
  expired: number | null;
  subscriber_name: string | null;
  host: string | null;
  pid: number | null;
  heartbeat_at: number | null;
  silent: number | null;
};

const STALE_SQL = `
  SELECT g.consumer_group, g.topic, g.partition_key, g.lease_owner, g.lease_expires_at,
         g.lease_expires_at < ${NOW_MS} AS expired,
         s.subscriber_name, s.host, s.pid, s.heartbeat_at,
         CAST(${NOW_MS} AS SIGNED) - CAST(s.heartbeat_at AS SIGNED) AS silent
  FROM queue_group_partitions g
  LEFT JOIN queue_subscribers s ON s.instance_id = g.lease_owner
  WHERE g.lease_owner IS NOT NULL AND (s.instance_id IS NULL OR s.heartbeat_at < ${NOW_MS} - ?)`;

function toLease(r: Raw): StaleLease {
  return {
    group: r.consumer_group,
    topic: r.topic,
    partitionKey: r.partition_key,
    owner: r.lease_owner,
    subscriber:
      r.subscriber_name === null ? null : { name: r.subscriber_name, host: r.host ?? "", pid: Number(r.pid ?? 0) },
    heartbeatAt: r.heartbeat_at === null ? null : Number(r.heartbeat_at),
    silentMs: r.silent === null ? null : Number(r.silent),
    leaseExpiresAt: r.lease_expires_at === null ? null : Number(r.lease_expires_at),
    expired: Number(r.expired) === 1,
  };
}

export interface StaleLeaseQuery {
  /** Silence of a holder's heartbeat after which its leases are stale, ms. Default STALE_LEASE_THRESHOLD_MS (30 s). */
  thresholdMs?: number;
  /** The most leases to return, from 1 to 100,000. Default 1,000. */
  limit?: number;
}

export interface ReleaseStaleOptions extends AdminOptions {
  /** Silence of the holder's heartbeat, still, for its lease to be taken, ms. Default STALE_LEASE_THRESHOLD_MS (30 s). */
  thresholdMs?: number;
}

/** Leases held by a subscriber silent for longer than `thresholdMs`, in key order, at most `limit`. */
export async function listStaleLeases(db: QueueDb, opts: StaleLeaseQuery = {}): Promise<StaleLease[]> {
  const threshold = checkThreshold(opts.thresholdMs ?? STALE_LEASE_THRESHOLD_MS);
  const limit = opts.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100_000) throw invalid("limit must be from 1 to 100000");
  // The lease_owner index bounds the read to partitions someone holds.
  const rows = await db.query<Raw>(`${STALE_SQL} ORDER BY g.consumer_group, g.topic, g.partition_key LIMIT ?`, [
    threshold,
    limit,
  ]);
  return rows.map(toLease);
}

/**
 * Takes away each of `leases` that is still held by the owner named and
 * whose owner is still silent for longer than `thresholdMs`: a holder that
 * came back, or a lease that changed hands since the operator looked, is
 * left alone. Returns the leases released.
 */
export async function releaseStaleLeases(
  db: QueueDb,
  leases: HeldLease[],
  opts: ReleaseStaleOptions = {},
): Promise<StaleLease[]> {
  const threshold = checkThreshold(opts.thresholdMs ?? STALE_LEASE_THRESHOLD_MS);
  for (const l of leases) {
    checkText(l.group, "group", GROUP_MAX);
    checkTopic(l.topic);
    checkText(l.partitionKey, "partitionKey", PARTITION_KEY_MAX);
    checkText(l.owner, "owner", 64);
  }
  if (leases.length === 0) return [];
  const sorted = [...leases].sort(compareRefs);
  const tuples = sorted.map(() => "(?, ?, ?)").join(", ");
  const keys = sorted.flatMap((l) => [l.group, l.topic, l.partitionKey]);
  return db.tx(async (c) => {
    await c.query(
      `SELECT consumer_group FROM queue_group_partitions WHERE (consumer_group, topic, partition_key) IN (${tuples})
       ORDER BY consumer_group, topic, partition_key FOR UPDATE`,
      keys,
    );
    const still = (
      await c.query<Raw>(
        `${STALE_SQL} AND (g.consumer_group, g.topic, g.partition_key, g.lease_owner) IN (${sorted.map(() => "(?, ?, ?, ?)").join(", ")})
         ORDER BY g.consumer_group, g.topic, g.partition_key`,
        [threshold, ...sorted.flatMap((l) => [l.group, l.topic, l.partitionKey, l.owner])],
      )
    ).map(toLease);
    if (still.length > 0) {
      await c.execute(
        `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ${NOW_MS}
         WHERE (consumer_group, topic, partition_key) IN (${still.map(() => "(?, ?, ?)").join(", ")})`,
        still.flatMap((l) => [l.group, l.topic, l.partitionKey]),
      );
    }
    await opts.within?.(c, still.length);
    return still;
  });
}
