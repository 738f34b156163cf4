// The queue's tables. Times are milliseconds since the epoch on the database's
// clock (never the application's): NOW_MS_SQL in db/clock.ts.
import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  int,
  mysqlTable,
  primaryKey,
  text,
  tinyint,
  uniqueIndex,
  varchar,
} from "drizzle-orm/mysql-core";
import { binary32, mediumBlob } from "./columns";

const ms = (name: string) => bigint(name, { mode: "number", unsigned: true });

/**
 * One row per (topic, partition key) ever published to. `headSeq` is the last
 * sequence number handed out; publishers take this row's lock for the length
 * of their transaction, so sequence numbers in a partition commit in order.
 */
export const queuePartitions = mysqlTable(
  "queue_partitions",
  {
    topic: varchar("topic", { length: 191 }).notNull(),
    partitionKey: varchar("partition_key", { length: 255 }).notNull(),
    headSeq: ms("head_seq").notNull().default(0),
    createdAt: ms("created_at").notNull(),
    lastPublishedAt: ms("last_published_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.topic, t.partitionKey] }),
    // The ready scan between full scans reads only the partitions published to lately (server/queue/leases.ts).
    index("queue_partitions_published").on(t.topic, t.lastPublishedAt),
  ],
);

/** The immutable log shared by every consumer group. */
export const queueMessages = mysqlTable(
  "queue_messages",
  {
    logId: bigint("log_id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    topic: varchar("topic", { length: 191 }).notNull(),
    partitionKey: varchar("partition_key", { length: 255 }).notNull(),
    seq: ms("seq").notNull(),
    messageId: varchar("message_id", { length: 255 }).notNull(),
    // sha-256 of (topic, partition key, id, origin): the dedup key.
    dedupKey: binary32("dedup_key").notNull(),
    payload: mediumBlob("payload").notNull(),
    metadata: text("metadata"),
    publishedAt: ms("published_at").notNull(),
    visibleAfter: ms("visible_after").notNull().default(0),
    // Set on a DLQ requeue: only this consumer group processes the row.
    targetGroup: varchar("target_group", { length: 191 }),
    // Set on rows of a DLQ topic.
    failureReason: text("failure_reason"),
    failureCount: int("failure_count", { unsigned: true }),
    failedAt: ms("failed_at"),
    originalTopic: varchar("original_topic", { length: 191 }),
    originalGroup: varchar("original_group", { length: 191 }),
    originalSeq: ms("original_seq"),
    // The failure reason with ids, numbers and quoted values masked: rows that failed the same way share it.
    failureGroup: varchar("failure_group", { length: 191 }),
    // The message id again on DLQ rows (NULL on the rest), for the DLQ's exact-id search. An index
    // on message_id itself would put every publish's random id at a random place in a big index;
    // this one only appends (topic, NULL) at the end of the topic's range, as the failure-group
    // index already does. Stored, not virtual: MariaDB computes the value once, at the insert.
    // The failure reason again on DLQ rows whose reason fits in 191 characters (NULL on the rest),
    // so the DLQ's text search reads it from the failure-group indexes instead of from each row.
    dlqReason: varchar("dlq_reason", { length: 191 }).generatedAlwaysAs(
      sql`if(failure_group is null or char_length(failure_reason) > 191, null, failure_reason)`,
      { mode: "stored" },
    ),
    dlqMessageId: varchar("dlq_message_id", { length: 255 }).generatedAlwaysAs(
      sql`if(failure_group is null, null, message_id)`,
      { mode: "stored" },
    ),
  },
  (t) => [
    uniqueIndex("queue_messages_dedup").on(t.dedupKey),
    uniqueIndex("queue_messages_partition_seq").on(t.topic, t.partitionKey, t.seq),
    index("queue_messages_topic_visible").on(t.topic, t.visibleAfter),
    // The console's newest-first keyset paging within a topic.
    index("queue_messages_topic_log").on(t.topic, t.logId),
    // DLQ failures grouped by their normalised reason, with the reason itself for the text search.
    index("queue_messages_topic_failure_group").on(t.topic, t.failureGroup, t.dlqReason),
    index("queue_messages_topic_dlq_id").on(t.topic, t.dlqMessageId),
    // The same within one original group: its counts, groups and text search from the index alone.
    index("queue_messages_topic_original_group").on(t.topic, t.originalGroup, t.failureGroup, t.dlqReason),
  ],
);

/** Consumer groups known per topic: garbage collection waits for all of them. */
export const queueGroups = mysqlTable(
  "queue_groups",
  {
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    topic: varchar("topic", { length: 191 }).notNull(),
    createdAt: ms("created_at").notNull(),
    // Set while an operator has paused the group's consumption of the topic:
    // the ready scan and the fetch read it from this one row, so a pause costs
    // no statement of its own per fetch.
    pausedAt: ms("paused_at"),
    pausedBy: varchar("paused_by", { length: 191 }),
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic] }), index("queue_groups_topic").on(t.topic)],
);

/** Per group and partition: the watermark and the lease. */
export const queueGroupPartitions = mysqlTable(
  "queue_group_partitions",
  {
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    topic: varchar("topic", { length: 191 }).notNull(),
    partitionKey: varchar("partition_key", { length: 255 }).notNull(),
    // Highest seq such that every row at or below it is finished for this group.
    watermark: ms("watermark").notNull().default(0),
    leaseOwner: varchar("lease_owner", { length: 64 }),
    leaseExpiresAt: ms("lease_expires_at"),
    // Set when a fetch found nothing ready: the partition has no work for the
    // group before idle_until (database clock) unless its head moves past
    // idle_head. The ready scan skips it meanwhile with a column compare,
    // instead of looking at its deferred rows on every poll.
    idleUntil: ms("idle_until"),
    idleHead: ms("idle_head"),
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.consumerGroup, t.topic, t.partitionKey] }),
    index("queue_group_partitions_owner").on(t.leaseOwner),
    // The ready scan between full scans: partitions never marked idle, and marks come due (server/queue/leases.ts).
    index("queue_group_partitions_unmarked").on(t.consumerGroup, t.topic, t.idleHead),
    index("queue_group_partitions_due").on(t.consumerGroup, t.topic, t.idleUntil),
  ],
);

export const DeliveryState = { inFlight: 0, acked: 1, dead: 2 } as const;

/**
 * Per group: delivery state of rows above the watermark. Rows at or below the
 * watermark are never read again; garbage collection deletes them in bulk, so
 * this table holds about the window.
 */
export const queueDeliveries = mysqlTable(
  "queue_deliveries",
  {
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    topic: varchar("topic", { length: 191 }).notNull(),
    partitionKey: varchar("partition_key", { length: 255 }).notNull(),
    seq: ms("seq").notNull(),
    state: tinyint("state", { unsigned: true }).notNull(),
    attempts: int("attempts", { unsigned: true }).notNull(),
    // In flight: invisible to other fetches until this time.
    visibleAt: ms("visible_at").notNull(),
    owner: varchar("owner", { length: 64 }),
    lastError: text("last_error"),
    firstDeliveredAt: ms("first_delivered_at").notNull(),
    updatedAt: ms("updated_at").notNull(),
    // Every fetch of the row for the group, handed-back ones included (which
    // give their attempt back): numbers the row's queue_attempts rows.
    fetches: int("fetches", { unsigned: true }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic, t.partitionKey, t.seq] })],
);

export const AttemptOutcome = { acked: 1, nacked: 2, deadLettered: 3, expired: 4, handedBack: 5 } as const;

/**
 * One row per fetch of a message by a group: who held it, from when, and how
 * it ended (outcome NULL while it is out). Written by the fetch and settle
 * statements already in flight (one multi-row statement per transaction).
 * The last ATTEMPT_HISTORY_CAP per message and group are kept; the rest go
 * with the message (garbage collection) or with its delivery rows (offset
 * reset, delete, purge). Keyed by message first: the console reads a
 * message's rows, garbage collection a partition's range of seqs.
 */
export const queueAttempts = mysqlTable(
  "queue_attempts",
  {
    topic: varchar("topic", { length: 191 }).notNull(),
    partitionKey: varchar("partition_key", { length: 255 }).notNull(),
    seq: ms("seq").notNull(),
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    fetchNo: int("fetch_no", { unsigned: true }).notNull(),
    attempt: int("attempt", { unsigned: true }).notNull(),
    owner: varchar("owner", { length: 64 }).notNull(),
    subscriberName: varchar("subscriber_name", { length: 191 }).notNull(),
    fetchedAt: ms("fetched_at").notNull(),
    settledAt: ms("settled_at"),
    outcome: tinyint("outcome", { unsigned: true }),
    reason: text("reason"),
  },
  (t) => [
    primaryKey({ name: "queue_attempts_pk", columns: [t.topic, t.partitionKey, t.seq, t.consumerGroup, t.fetchNo] }),
  ],
);

/**
 * Traffic per topic, consumer group and minute (the console's charts): the
 * queue adds its counts here in the transactions it already runs, one
 * multi-row statement sent with the COMMIT (server/queue/rollup.ts).
 * Published counts sit in the topic's row of group '' (every group sees each
 * message); acked, nacked and dead-lettered in the group's. Concurrent
 * writers add to different shards (their connection's id modulo
 * TRAFFIC_SHARDS), so they rarely wait on one row; readers sum the shards.
 * Lag and oldest-pending age are gauges sampled by garbage collection into
 * shard 0 (NULL elsewhere, and in minutes nobody sampled). Rows older than
 * the retention go with garbage collection, through the minute index.
 */
export const queueTraffic = mysqlTable(
  "queue_traffic",
  {
    topic: varchar("topic", { length: 191 }).notNull(),
    // The minute's start, ms on the database's clock.
    minute: ms("minute").notNull(),
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    shard: tinyint("shard", { unsigned: true }).notNull(),
    published: int("published", { unsigned: true }).notNull().default(0),
    acked: int("acked", { unsigned: true }).notNull().default(0),
    nacked: int("nacked", { unsigned: true }).notNull().default(0),
    deadLettered: int("dead_lettered", { unsigned: true }).notNull().default(0),
    lag: ms("lag"),
    oldestPendingMs: ms("oldest_pending_ms"),
  },
  (t) => [
    primaryKey({ name: "queue_traffic_pk", columns: [t.topic, t.minute, t.consumerGroup, t.shard] }),
    index("queue_traffic_minute").on(t.minute),
  ],
);

/**
 * How many dead letters each (DLQ topic, original consumer group, failure
 * group) holds, so the DLQ page's counts and failure groups read a few rows
 * instead of counting a million. Every write that adds or removes DLQ rows
 * changes it in the same transaction (server/queue/dlq-counts.ts); a row
 * whose count reaches 0 is deleted. `newestLogId` is the log id of the
 * group's newest dead letter, NULL once that row is gone until the next
 * failure (a reader then looks it up).
 */
export const queueDlqCounts = mysqlTable(
  "queue_dlq_counts",
  {
    topic: varchar("topic", { length: 191 }).notNull(),
    // '' for rows whose original group was never recorded.
    originalGroup: varchar("original_group", { length: 191 }).notNull(),
    failureGroup: varchar("failure_group", { length: 191 }).notNull(),
    deadLetters: bigint("dead_letters", { mode: "number" }).notNull(),
    newestLogId: bigint("newest_log_id", { mode: "number", unsigned: true }),
  },
  (t) => [primaryKey({ name: "queue_dlq_counts_pk", columns: [t.topic, t.originalGroup, t.failureGroup] })],
);

/**
 * Operator jobs over many DLQ rows (requeue or purge everything that matches a
 * filter): rate-limited, with progress, cancellable, resumable by any process
 * after a crash (a job whose runner stopped heartbeating is taken over).
 */
export const queueJobs = mysqlTable(
  "queue_jobs",
  {
    id: varchar("id", { length: 64 }).primaryKey(),
    kind: varchar("kind", { length: 16 }).notNull(), // requeue | purge
    topic: varchar("topic", { length: 191 }).notNull(),
    filter: text("filter").notNull(), // JSON DlqFilter
    // Only rows that existed when the job was made: later failures are not swept up.
    maxLogId: bigint("max_log_id", { mode: "number", unsigned: true }).notNull(),
    ratePerSecond: int("rate_per_second", { unsigned: true }).notNull(),
    state: varchar("state", { length: 16 }).notNull(), // running | done | cancelled | failed
    total: int("total", { unsigned: true }).notNull(),
    processed: int("processed", { unsigned: true }).notNull().default(0),
    // Keyset position: rows with log_id below this are done.
    cursor: bigint("cursor", { mode: "number", unsigned: true }),
    cancelRequested: tinyint("cancel_requested", { unsigned: true }).notNull().default(0),
    runner: varchar("runner", { length: 64 }),
    heartbeatAt: ms("heartbeat_at"),
    error: text("error"),
    createdBy: varchar("created_by", { length: 191 }).notNull(),
    createdAt: ms("created_at").notNull(),
    finishedAt: ms("finished_at"),
    // The audit row that records what this job moved: each batch adds its count there in its own
    // transaction, whichever process runs it (a worker carries on a job the web server started).
    auditId: bigint("audit_id", { mode: "number", unsigned: true }),
  },
  (t) => [index("queue_jobs_state").on(t.state, t.createdAt)],
);

/** Live subscribers and their heartbeats. */
export const queueSubscribers = mysqlTable(
  "queue_subscribers",
  {
    instanceId: varchar("instance_id", { length: 64 }).primaryKey(),
    subscriberName: varchar("subscriber_name", { length: 191 }).notNull(),
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    topic: varchar("topic", { length: 191 }).notNull(),
    host: varchar("host", { length: 255 }).notNull(),
    pid: int("pid", { unsigned: true }).notNull(),
    startedAt: ms("started_at").notNull(),
    heartbeatAt: ms("heartbeat_at").notNull(),
  },
  (t) => [index("queue_subscribers_group").on(t.consumerGroup, t.topic, t.heartbeatAt)],
);
export * from "./auth-schema";
export * from "./pipeline-schema";
