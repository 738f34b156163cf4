// Finding partitions with work, taking and renewing leases, heartbeats.
// An idle subscriber sends one scan per poll and three statements per lease
// renewal, however many partitions the topic has ever had: drained partitions
// hold no lease, so there is nothing per partition to renew.
import { DeliveryState } from "../../db/schema";
import { type Executor, NOW_MS } from "./db";

export interface SubscriberIdentity {
  instanceId: string;
  subscriberName: string;
  group: string;
  topic: string;
}

/** Most partitions one scan looks at. */
export const SCAN_LIMIT = 1000;

export interface ScannedPartition {
  partitionKey: string;
  leaseOwner: string | null;
  leased: boolean;
}

/** Partitions of the topic that have a row ready for this group now, with who holds their lease. */
export async function scanReadyPartitions(c: Executor, id: SubscriberIdentity): Promise<ScannedPartition[]> {
  const rows = await c.query<{ partition_key: string; lease_owner: string | null; leased: number }>(
    `SELECT p.partition_key, g.lease_owner,
            (g.lease_owner IS NOT NULL AND g.lease_expires_at >= ${NOW_MS}) AS leased
     FROM queue_partitions p
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = ? AND g.topic = p.topic AND g.partition_key = p.partition_key
     WHERE p.topic = ? AND p.head_seq > COALESCE(g.watermark, 0)
       AND EXISTS (
         SELECT 1 FROM queue_messages m
         LEFT JOIN queue_deliveries d
           ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
         WHERE m.topic = p.topic AND m.partition_key = p.partition_key AND m.seq > COALESCE(g.watermark, 0)
           AND m.visible_after <= ${NOW_MS}
           AND (m.target_group IS NULL OR m.target_group = ?)
           AND (d.seq IS NULL OR (d.state = ${DeliveryState.inFlight} AND d.visible_at <= ${NOW_MS})))
     LIMIT ${SCAN_LIMIT}`,
    [id.group, id.topic, id.group, id.group],
  );
  return rows.map((r) => ({ partitionKey: r.partition_key, leaseOwner: r.lease_owner, leased: r.leased === 1 }));
}

/** Tries to lease the given partitions; returns the ones now held. */
export async function claimPartitions(
  c: Executor,
  id: SubscriberIdentity,
  partitionKeys: string[],
  leaseDurationMs: number,
): Promise<string[]> {
  if (partitionKeys.length === 0) return [];
  await c.execute(
    `INSERT INTO queue_group_partitions (consumer_group, topic, partition_key, watermark, updated_at)
     VALUES ${partitionKeys.map(() => `(?, ?, ?, 0, ${NOW_MS})`).join(", ")}
     ON DUPLICATE KEY UPDATE updated_at = updated_at`,
    partitionKeys.flatMap((k) => [id.group, id.topic, k]),
  );
  const inList = partitionKeys.map(() => "?").join(", ");
  await c.execute(
    `UPDATE queue_group_partitions
     SET lease_owner = ?, lease_expires_at = ${NOW_MS} + ?, updated_at = ${NOW_MS}
     WHERE consumer_group = ? AND topic = ? AND partition_key IN (${inList})
       AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ${NOW_MS})`,
    [id.instanceId, leaseDurationMs, id.group, id.topic, ...partitionKeys, id.instanceId],
  );
  const held = await c.query<{ partition_key: string }>(
    `SELECT partition_key FROM queue_group_partitions
     WHERE consumer_group = ? AND topic = ? AND partition_key IN (${inList}) AND lease_owner = ?`,
    [id.group, id.topic, ...partitionKeys, id.instanceId],
  );
  return held.map((r) => r.partition_key);
}

export async function registerSubscriber(c: Executor, id: SubscriberIdentity, host: string, pid: number) {
  await c.execute(
    `INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES (?, ?, ${NOW_MS})
     ON DUPLICATE KEY UPDATE created_at = created_at`,
    [id.group, id.topic],
  );
  await c.execute(
    `INSERT INTO queue_subscribers (instance_id, subscriber_name, consumer_group, topic, host, pid, started_at, heartbeat_at)
     VALUES (?, ?, ?, ?, ?, ?, ${NOW_MS}, ${NOW_MS})
     ON DUPLICATE KEY UPDATE heartbeat_at = VALUES(heartbeat_at)`,
    [id.instanceId, id.subscriberName, id.group, id.topic, host.slice(0, 255), pid],
  );
}

/** Heartbeat, lease renewal, and the number of live subscribers in the group. */
export async function heartbeat(
  c: Executor,
  id: SubscriberIdentity,
  leaseDurationMs: number,
  host: string,
  pid: number,
): Promise<number> {
  const { affectedRows } = await c.execute(
    `UPDATE queue_subscribers SET heartbeat_at = ${NOW_MS} WHERE instance_id = ?`,
    [id.instanceId],
  );
  if (affectedRows === 0) await registerSubscriber(c, id, host, pid);
  await c.execute(
    `UPDATE queue_group_partitions SET lease_expires_at = ${NOW_MS} + ?, updated_at = ${NOW_MS}
     WHERE lease_owner = ? AND consumer_group = ? AND topic = ?`,
    [leaseDurationMs, id.instanceId, id.group, id.topic],
  );
  return countLive(c, id, leaseDurationMs);
}

export async function countLive(c: Executor, id: SubscriberIdentity, leaseDurationMs: number): Promise<number> {
  const [row] = await c.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM queue_subscribers
     WHERE consumer_group = ? AND topic = ? AND heartbeat_at >= ${NOW_MS} - ?`,
    [id.group, id.topic, leaseDurationMs],
  );
  return Math.max(1, Number(row?.n ?? 1));
}

export async function unregister(c: Executor, id: SubscriberIdentity): Promise<void> {
  await c.execute(
    `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ${NOW_MS}
     WHERE lease_owner = ? AND consumer_group = ? AND topic = ?`,
    [id.instanceId, id.group, id.topic],
  );
  await c.execute("DELETE FROM queue_subscribers WHERE instance_id = ?", [id.instanceId]);
}
