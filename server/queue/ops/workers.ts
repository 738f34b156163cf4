// Subscribers (workers), their heartbeats and the leases they hold.
import { NOW_MS, type QueueDb } from "../db";

export interface SubscriberRow {
  instanceId: string;
  name: string;
  group: string;
  topic: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
  /** Heartbeat within the last `aliveWithinMs`. */
  alive: boolean;
  leaseCount: number;
  /** Up to 20 partitions whose lease it holds. */
  leases: string[];
}

export async function listSubscribers(db: QueueDb, aliveWithinMs = 30_000): Promise<SubscriberRow[]> {
  const subs = await db.query<{
    instance_id: string;
    subscriber_name: string;
    consumer_group: string;
    topic: string;
    host: string;
    pid: number;
    started_at: number;
    heartbeat_at: number;
    alive: number;
  }>(
    `SELECT *, heartbeat_at >= ${NOW_MS} - ? AS alive FROM queue_subscribers
     ORDER BY consumer_group, topic, subscriber_name`,
    [aliveWithinMs],
  );
  if (subs.length === 0) return [];
  const leases = await db.query<{ lease_owner: string; partition_key: string }>(
    `SELECT lease_owner, partition_key FROM queue_group_partitions
     WHERE lease_owner IN (?) AND lease_expires_at >= ${NOW_MS} ORDER BY partition_key`,
    [subs.map((s) => s.instance_id)],
  );
  return subs.map((s) => {
    const mine = leases.filter((l) => l.lease_owner === s.instance_id).map((l) => l.partition_key);
    return {
      instanceId: s.instance_id,
      name: s.subscriber_name,
      group: s.consumer_group,
      topic: s.topic,
      host: s.host,
      pid: Number(s.pid),
      startedAt: Number(s.started_at),
      heartbeatAt: Number(s.heartbeat_at),
      alive: Number(s.alive) === 1,
      leaseCount: mine.length,
      leases: mine.slice(0, 20),
    };
  });
}
