// The queue's tables. Times are milliseconds since the epoch on the database's
// clock (never the application's); see server/queue/sql.ts for NOW_MS.
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
  (t) => [primaryKey({ columns: [t.topic, t.partitionKey] })],
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
  },
  (t) => [
    uniqueIndex("queue_messages_dedup").on(t.dedupKey),
    uniqueIndex("queue_messages_partition_seq").on(t.topic, t.partitionKey, t.seq),
    index("queue_messages_topic_visible").on(t.topic, t.visibleAfter),
  ],
);

/** Consumer groups known per topic: garbage collection waits for all of them. */
export const queueGroups = mysqlTable(
  "queue_groups",
  {
    consumerGroup: varchar("consumer_group", { length: 191 }).notNull(),
    topic: varchar("topic", { length: 191 }).notNull(),
    createdAt: ms("created_at").notNull(),
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
    updatedAt: ms("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.consumerGroup, t.topic, t.partitionKey] }),
    index("queue_group_partitions_owner").on(t.leaseOwner),
  ],
);

export const DeliveryState = { inFlight: 0, acked: 1, dead: 2 } as const;

/**
 * Per group: delivery state of rows above the watermark. Rows at or below the
 * watermark are deleted as it advances, so this table holds only the window.
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
  },
  (t) => [primaryKey({ columns: [t.consumerGroup, t.topic, t.partitionKey, t.seq] })],
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
export * from "./pipeline-schema";
