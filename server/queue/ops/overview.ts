// The overview: every topic with its counts and each consumer group's lag.
// Every query here is bounded by the number of partitions, groups or a count
// cap, never by the size of the log.
import { DeliveryState } from "@/db/schema";
import { NOW_MS, type QueueDb } from "@/server/queue/db";
import { leaseHeld } from "@/server/queue/partition-state";
import { boundedCount, type Count } from "./count";

export interface GroupLag {
  /** The consumer group's name. */
  group: string;
  /** Rows published but not yet finished by the group (an upper bound: dedup gaps count). */
  lag: number;
  /** The group's deliveries out with a subscriber or waiting out a nack's delay. */
  inFlight: number;
  /** Published-at of the oldest row the group has not finished; null when caught up. */
  oldestPendingAt: number | null;
  /** Partitions of the topic whose lease a subscriber of the group holds. */
  leasedPartitions: number;
  /** While an operator has the group's consumption paused: since when (database clock) and by whom. */
  pausedAt: number | null;
  pausedBy: string | null;
}

export interface TopicOverview {
  topic: string;
  /** The topic's name ends in the DLQ suffix (`_dlq`). */
  isDlq: boolean;
  /** How many partitions it has (every key ever published to). */
  partitions: number;
  /** When its last message was published, ms on the database's clock; null if never. */
  lastPublishedAt: number | null;
  /** Rows in its log (a capped count). */
  messages: Count;
  /** Rows not yet visible (publishAfter in the future; a capped count). */
  deferred: Count;
  /** Rows of `<topic>_dlq`, for topics that have one. */
  dlq: Count | null;
  /** Each consumer group of the topic. */
  groups: GroupLag[];
}

export const DEFAULT_DLQ_SUFFIX = "_dlq";

export async function listTopics(db: QueueDb): Promise<TopicOverview[]> {
  const topics = await db.query<{ topic: string; partitions: number; last: number | null }>(
    "SELECT topic, COUNT(*) AS partitions, MAX(last_published_at) AS last FROM queue_partitions GROUP BY topic ORDER BY topic",
  );
  const lags = await groupLags(db);
  const inFlight = await db.query<{ consumer_group: string; topic: string; n: number }>(
    `SELECT consumer_group, topic, COUNT(*) AS n FROM queue_deliveries
     WHERE state = ${DeliveryState.inFlight} AND visible_at > ${NOW_MS}
     GROUP BY consumer_group, topic`,
  );
  const oldest = await oldestPending(db);
  const key = (g: string, t: string) => JSON.stringify([g, t]);
  const inFlightBy = new Map(inFlight.map((r) => [key(r.consumer_group, r.topic), Number(r.n)]));
  const oldestBy = new Map(
    oldest.map((r) => [key(r.consumer_group, r.topic), r.oldest === null ? null : Number(r.oldest)]),
  );
  const names = new Set(topics.map((t) => t.topic));

  const out: TopicOverview[] = [];
  for (const t of topics) {
    const dlqTopic = t.topic + DEFAULT_DLQ_SUFFIX;
    out.push({
      topic: t.topic,
      isDlq: t.topic.endsWith(DEFAULT_DLQ_SUFFIX),
      partitions: Number(t.partitions),
      lastPublishedAt: t.last === null ? null : Number(t.last),
      messages: await boundedCount(db, "SELECT 1 FROM queue_messages WHERE topic = ?", [t.topic]),
      deferred: await boundedCount(db, `SELECT 1 FROM queue_messages WHERE topic = ? AND visible_after > ${NOW_MS}`, [
        t.topic,
      ]),
      dlq: names.has(dlqTopic)
        ? await boundedCount(db, "SELECT 1 FROM queue_messages WHERE topic = ?", [dlqTopic])
        : null,
      groups: lags
        .filter((l) => l.topic === t.topic)
        .map((l) => {
          const lag = Number(l.lag ?? 0);
          return {
            group: l.consumer_group,
            lag,
            inFlight: inFlightBy.get(key(l.consumer_group, l.topic)) ?? 0,
            oldestPendingAt: lag > 0 ? (oldestBy.get(key(l.consumer_group, l.topic)) ?? null) : null,
            leasedPartitions: Number(l.leased ?? 0),
            pausedAt: l.paused_at === null ? null : Number(l.paused_at),
            pausedBy: l.paused_by,
          };
        }),
    });
  }
  return out;
}

type LagRow = {
  consumer_group: string;
  topic: string;
  lag: number;
  leased: number;
  paused_at: number | null;
  paused_by: string | null;
};

/** Every group's lag per topic (head less watermark, summed over partitions), leases held and pause. */
function groupLags(db: QueueDb): Promise<LagRow[]> {
  return db.query<LagRow>(
    `SELECT qg.consumer_group, qg.topic, qg.paused_at, qg.paused_by,
            SUM(p.head_seq - LEAST(p.head_seq, COALESCE(g.watermark, 0))) AS lag,
            SUM(${leaseHeld("g")}) AS leased
     FROM queue_groups qg
     JOIN queue_partitions p ON p.topic = qg.topic
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = qg.consumer_group AND g.topic = p.topic AND g.partition_key = p.partition_key
     GROUP BY qg.consumer_group, qg.topic, qg.paused_at, qg.paused_by`,
  );
}

/** Every group's oldest unfinished row per topic: the first unfinished row of each partition sits just above its watermark. */
function oldestPending(db: QueueDb) {
  return db.query<{ consumer_group: string; topic: string; oldest: number | null }>(
    `SELECT qg.consumer_group, qg.topic, MIN(m.published_at) AS oldest
     FROM queue_groups qg
     JOIN queue_partitions p ON p.topic = qg.topic
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = qg.consumer_group AND g.topic = p.topic AND g.partition_key = p.partition_key
     JOIN queue_messages m
       ON m.topic = p.topic AND m.partition_key = p.partition_key AND m.seq = COALESCE(g.watermark, 0) + 1
     WHERE p.head_seq > COALESCE(g.watermark, 0)
     GROUP BY qg.consumer_group, qg.topic`,
  );
}

/** Each group's lag and the published-at of its oldest pending row (null when caught up): the overview's figures alone. */
export async function groupGauges(
  db: QueueDb,
): Promise<Array<{ topic: string; group: string; lag: number; oldestPendingAt: number | null }>> {
  const [lags, oldest] = await Promise.all([groupLags(db), oldestPending(db)]);
  const oldestBy = new Map(oldest.map((r) => [JSON.stringify([r.consumer_group, r.topic]), r.oldest]));
  return lags.map((l) => {
    const lag = Number(l.lag ?? 0);
    const at = oldestBy.get(JSON.stringify([l.consumer_group, l.topic]));
    return {
      topic: l.topic,
      group: l.consumer_group,
      lag,
      oldestPendingAt: lag > 0 && at != null ? Number(at) : null,
    };
  });
}

export interface PartitionRow {
  partitionKey: string;
  /** The seq of its newest message (seqs start at 1). */
  headSeq: number;
  /** When its last message was published, ms on the database's clock. */
  lastPublishedAt: number;
  /** Each consumer group of the topic, in this partition. */
  groups: Array<{
    group: string;
    /** Every seq at or below it the group has finished (0: none). */
    watermark: number;
    /** headSeq minus the watermark. */
    lag: number;
    /** The instance id of the subscriber holding a live lease; null when none does. */
    leaseOwner: string | null;
    /** That subscriber's name, for people; null when no live lease or no subscriber row. */
    leaseHolder: string | null;
    /** When that lease runs out, ms on the database's clock; null when none is live. */
    leaseExpiresAt: number | null;
  }>;
}

export interface PartitionPageOptions {
  /** Start after this partition key (the `next` of the page before). Default: from the first key. */
  after?: string;
  /** The most partitions to return. */
  limit: number;
}

export interface PartitionPage {
  /** In partition-key order. */
  partitions: PartitionRow[];
  /** Pass back as `after` for the next page; null at the end. */
  next: string | null;
}

/** A topic's partitions, by partition key, keyset-paged. */
export async function listPartitions(db: QueueDb, topic: string, opts: PartitionPageOptions): Promise<PartitionPage> {
  const rows = await db.query<{ partition_key: string; head_seq: number; last_published_at: number }>(
    `SELECT partition_key, head_seq, last_published_at FROM queue_partitions
     WHERE topic = ? ${opts.after === undefined ? "" : "AND partition_key > ?"}
     ORDER BY partition_key LIMIT ?`,
    [topic, ...(opts.after === undefined ? [] : [opts.after]), opts.limit + 1],
  );
  const page = rows.slice(0, opts.limit);
  const keys = page.map((r) => r.partition_key);
  const groups = await db.query<{ consumer_group: string }>("SELECT consumer_group FROM queue_groups WHERE topic = ?", [
    topic,
  ]);
  const gp =
    keys.length === 0
      ? []
      : await db.query<{
          consumer_group: string;
          partition_key: string;
          watermark: number;
          lease_owner: string | null;
          lease_expires_at: number | null;
          subscriber_name: string | null;
        }>(
          `SELECT g.consumer_group, g.partition_key, g.watermark, g.lease_owner, g.lease_expires_at, s.subscriber_name
           FROM queue_group_partitions g
           LEFT JOIN queue_subscribers s ON s.instance_id = g.lease_owner
           WHERE g.topic = ? AND g.partition_key IN (?)`,
          [topic, keys],
        );
  const [now] = await db.query<{ now: number }>(`SELECT ${NOW_MS} AS now`);
  const nowMs = Number(now?.now);
  return {
    partitions: page.map((p) => ({
      partitionKey: p.partition_key,
      headSeq: Number(p.head_seq),
      lastPublishedAt: Number(p.last_published_at),
      groups: groups.map(({ consumer_group }) => {
        const g = gp.find((x) => x.consumer_group === consumer_group && x.partition_key === p.partition_key);
        const watermark = Number(g?.watermark ?? 0);
        const live = g?.lease_owner && Number(g.lease_expires_at) >= nowMs;
        return {
          group: consumer_group,
          watermark,
          lag: Math.max(0, Number(p.head_seq) - watermark),
          leaseOwner: live ? (g?.lease_owner ?? null) : null,
          leaseHolder: live ? (g?.subscriber_name ?? null) : null,
          leaseExpiresAt: live ? Number(g?.lease_expires_at) : null,
        };
      }),
    })),
    next: rows.length > opts.limit ? (page.at(-1)?.partition_key ?? null) : null,
  };
}
