// Subscribers (workers), their heartbeats and the leases they hold.
import { NOW_MS, type QueueDb } from "@/server/queue/db";

export interface SubscriberRow {
  /** The subscription's own id, new for each subscribe call: what its leases record as their owner. */
  instanceId: string;
  /** The subscriberName it was given; several subscriptions may share one. */
  name: string;
  /** The consumer group it reads for. */
  group: string;
  /** The topic it reads. */
  topic: string;
  /** The host name of its process, cut to 255 characters. */
  host: string;
  /** Its process id on that host. */
  pid: number;
  /** When its subscriber row was written (at subscribe, or again after the row was collected), ms on the database's clock. */
  startedAt: number;
  /** Its last heartbeat (one per lease renewal interval), ms on the database's clock. */
  heartbeatAt: number;
  /** Its heartbeat is within the last `aliveWithinMs` (listSubscribers' argument, default 30 s). */
  alive: boolean;
  /** Partitions whose lease it holds unexpired, all of them. */
  leaseCount: number;
  /** The first 20 of those partitions' keys, in key order. */
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
