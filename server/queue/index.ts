// Sluice's queue: one immutable MySQL log, consumer groups with their own
// delivery state, partition leases, a DLQ. Knows nothing of Next.js, tRPC or
// React. The schema comes from the project's migrations (npm run db:migrate);
// createQueue never creates tables.
import { type DlqAddress, requeueDeadLetter, requeueDeadLetters } from "./admin";
import { type AdminOptions, openDb } from "./db";
import { checkSettleTx, QueueDelivery } from "./delivery";
import { invalid, QueueError } from "./errors";
import { safeEmitter } from "./events";
import { collectGarbage, type GarbageOptions } from "./garbage";
import { checkTopic } from "./names";
import { getAttempts, type MessageAttempts } from "./ops/attempts";
import {
  type DeferredListOptions,
  type DeferredPage,
  deliverNow,
  listDeferred,
  type MessageAddress,
} from "./ops/deferred";
import {
  type DlqDetail,
  type DlqFilter,
  type DlqPage,
  type DlqPageOptions,
  getDeadLetter,
  listDlq,
  listDlqTopics,
} from "./ops/dlq";
import { countDlq, dlqFailureGroups, type FailureGroupFilter, type FailureGroupRow } from "./ops/dlq-tallies";
import {
  cancelJob,
  claimableJobs,
  createJob,
  getJob,
  type Job,
  type JobInput,
  type JobOptions,
  listJobs,
  runJob,
} from "./ops/jobs";
import {
  getMessage,
  listMessages,
  type MessageDetail,
  type MessageListOptions,
  type MessagePage,
} from "./ops/messages";
import {
  type OffsetReset,
  type ReleasedLease,
  type ResetOffsetOptions,
  releaseLease,
  resetOffset,
} from "./ops/offsets";
import {
  listPartitions,
  listTopics,
  type PartitionPage,
  type PartitionPageOptions,
  type TopicOverview,
} from "./ops/overview";
import { type GroupPause, type PauseOptions, pauseGroup, resumeGroup } from "./ops/pause";
import {
  countTopicMessages,
  type DeletedMessage,
  deleteMessage,
  type PurgedTopic,
  type PurgeOptions,
  purgeTopic,
} from "./ops/remove";
import {
  type HeldLease,
  listStaleLeases,
  type ReleaseStaleOptions,
  releaseStaleLeases,
  type StaleLease,
  type StaleLeaseQuery,
} from "./ops/stale-leases";
import { getTraffic, type Sparklines, type TrafficOptions, type TrafficSeries, trafficSparklines } from "./ops/traffic";
import { listSubscribers, type SubscriberRow } from "./ops/workers";
import { parseQueueOptions, parseSubscriptionOptions, type QueueOptions } from "./options";
import { createPublisher } from "./publisher";
import { SettleBatcher } from "./settle";
import { QueueSubscription } from "./subscription";
import type { Delivery, Publisher, QueueTx, Subscriber } from "./types";

export type { DlqAddress } from "./admin";
export { ATTEMPT_HISTORY_CAP } from "./attempts";
export type { AdminOptions, Executor, Within } from "./db";
export { classifyMysqlError, isTransientError, QueueError, type QueueErrorCode } from "./errors";
export type { QueueEvent, QueueEventListener, SettleOutcome } from "./events";
export { Gatherer, togetherOrAlone, type Waiting } from "./gather";
export { occasionId, uniqueOccasionId } from "./ids";
export {
  ATTEMPT_OUTCOMES,
  type AttemptOutcomeName,
  type AttemptRow,
  type GroupAttempts,
  type MessageAttempts,
} from "./ops/attempts";
export type { Count } from "./ops/count";
export type { DeferredCursor, DeferredListOptions, DeferredPage, DeferredRow, MessageAddress } from "./ops/deferred";
export type { DlqDetail, DlqFilter, DlqPage, DlqPageOptions, DlqRow } from "./ops/dlq";
export type { FailureGroupFilter, FailureGroupRow } from "./ops/dlq-tallies";
export {
  type Job,
  type JobAudit,
  type JobInput,
  type JobKind,
  type JobOptions,
  type JobState,
  MAX_RATE,
} from "./ops/jobs";
export {
  MESSAGE_STATES,
  type MessageDetail,
  type MessageListOptions,
  type MessagePage,
  type MessageRow,
  type MessageState,
  STATE_FILTERS,
  type StateFilter,
} from "./ops/messages";
export type { OffsetReset, ReleasedLease, ResetOffsetOptions } from "./ops/offsets";
export type { GroupLag, PartitionPage, PartitionPageOptions, PartitionRow, TopicOverview } from "./ops/overview";
export type { GroupPause, PauseOptions } from "./ops/pause";
export type { DeletedMessage, PurgedTopic, PurgeOptions } from "./ops/remove";
export {
  type HeldLease,
  type ReleaseStaleOptions,
  STALE_LEASE_THRESHOLD_MS,
  type StaleLease,
  type StaleLeaseQuery,
} from "./ops/stale-leases";
export {
  MINUTE_MS,
  SPARKLINE_MINUTES,
  type Sparklines,
  type TopicSparkline,
  TRAFFIC_RANGES,
  type TrafficOptions,
  type TrafficRange,
  type TrafficSeries,
} from "./ops/traffic";
export type { SubscriberRow } from "./ops/workers";
export type { QueueOptions, SubscriptionInput, SubscriptionOptions } from "./options";
export type {
  DeliveredMessage,
  Delivery,
  Failure,
  Message,
  NackOptions,
  Publisher,
  PublishOptions,
  QueueTx,
  SettleOptions,
  Subscriber,
  Subscription,
} from "./types";

export const DEFAULT_DATABASE_URL = "mysql://root@127.0.0.1:3306/sluice";

export interface Queue {
  publisher: Publisher;
  subscriber: Subscriber;
  /**
   * Runs `fn` in one transaction of the queue's database and commits when it
   * resolves (rolls back when it throws). Publishes and settles passed
   * `{ tx }` are part of it, as is whatever `fn` writes through `tx` or on
   * `tx.connection`: all of it commits together or not at all. A deadlock or
   * lock-wait timeout runs `fn` again from the start, so it must not have
   * effects outside the database.
   */
  transaction<T>(fn: (tx: QueueTx) => Promise<T>): Promise<T>;
  /**
   * Acks every delivery in `opts.tx` with one write for all of them (one
   * round trip to lock their partitions, one to write), where `ack({ tx })`
   * on each would pay both per delivery. All or nothing: when any has
   * expired it rejects with DELIVERY_EXPIRED and none of them counts as
   * settled; the caller's transaction must roll back, and each delivery may
   * then be settled again (the expired one fails alone).
   */
  ackAll(deliveries: Delivery[], opts: { tx: QueueTx }): Promise<void>;
  /** Changes. Each takes `opts.within`, run in its transaction (see Within): the console's audit rows. */
  admin: {
    requeueDeadLetter(address: DlqAddress, opts?: AdminOptions): Promise<void>;
    requeueDeadLetters(addresses: DlqAddress[], opts?: AdminOptions): Promise<number>;
    deliverNow(addresses: DlqAddress[], opts?: AdminOptions): Promise<number>;
    createJob(input: JobInput, opts?: JobOptions): Promise<Job>;
    /**
     * Runs the job to its end in this process and returns it as it ended; returns at once when
     * another live runner has it (null: no such job).
     */
    runJob(id: string, runner: string): Promise<Job | null>;
    cancelJob(id: string, opts?: AdminOptions): Promise<void>;
    claimableJobs(): Promise<string[]>;
    /** Also samples lag and oldest-pending age into the traffic rollup and prunes it (the queue's trafficRetentionDays unless given). */
    collectGarbage(opts?: GarbageOptions): Promise<number>;
    /** Takes a partition's lease away from the group's subscriber holding it. */
    releaseLease(group: string, topic: string, partitionKey: string, opts?: AdminOptions): Promise<ReleasedLease>;
    /** Moves a group's watermark in one partition; messages after it are delivered again. */
    resetOffset(
      group: string,
      topic: string,
      partitionKey: string,
      toSeq: number,
      opts?: ResetOffsetOptions,
    ): Promise<OffsetReset>;
    /** Deletes one message and its delivery rows; a subscriber holding it gets DELIVERY_EXPIRED on settle. */
    deleteMessage(address: MessageAddress, opts?: AdminOptions): Promise<DeletedMessage>;
    /** Deletes every message of a topic, refused unless exactly `expectedCount` go (the count confirmed). */
    purgeTopic(topic: string, opts: PurgeOptions): Promise<PurgedTopic>;
    /** Takes away the given leases whose holders are still silent past the threshold; returns those released. */
    releaseStaleLeases(leases: HeldLease[], opts?: ReleaseStaleOptions): Promise<StaleLease[]>;
    /**
     * Stops handing out the group's rows of the topic (deliveries out finish and settle as
     * usual; other groups are unaffected); `by` is shown as who paused it. Audited through `within`.
     */
    pauseGroup(group: string, topic: string, opts: PauseOptions): Promise<GroupPause>;
    resumeGroup(group: string, topic: string, opts?: AdminOptions): Promise<GroupPause>;
  };
  /** Reads for the console and the CLI: every one bounded by a page size or a count cap. */
  inspect: {
    listTopics(): Promise<TopicOverview[]>;
    listPartitions(topic: string, opts: PartitionPageOptions): Promise<PartitionPage>;
    listMessages(topic: string, opts: MessageListOptions): Promise<MessagePage>;
    /** One message with its payload, or null when it is not there. */
    getMessage(topic: string, partitionKey: string, seq: number): Promise<MessageDetail | null>;
    listDeferred(opts: DeferredListOptions): Promise<DeferredPage>;
    listDlqTopics(): Promise<string[]>;
    listDlq(filter: DlqFilter, opts: DlqPageOptions): Promise<DlqPage>;
    countDlq(filter: DlqFilter): Promise<number>;
    /** A topic's failure groups, or (given a filter) the groups of the rows its search and original group match. */
    dlqFailureGroups(filter: FailureGroupFilter): Promise<FailureGroupRow[]>;
    /** One dead letter with its payload, or null when it is not there. */
    getDeadLetter(topic: string, partitionKey: string, seq: number): Promise<DlqDetail | null>;
    getJob(id: string): Promise<Job | null>;
    /** The newest jobs first, at most `limit` (default 20). */
    listJobs(limit?: number): Promise<Job[]>;
    listSubscribers(): Promise<SubscriberRow[]>;
    /** Exactly how many messages a topic holds (for a purge's confirmation; counts every row). */
    countMessages(topic: string): Promise<number>;
    /** Leases whose holder's heartbeat is older than `thresholdMs` (default 30 s), or that no subscriber row backs. */
    staleLeases(opts?: StaleLeaseQuery): Promise<StaleLease[]>;
    /** A message's delivery attempts per group (the last ATTEMPT_HISTORY_CAP), or null when it is not there. */
    getAttempts(topic: string, partitionKey: string, seq: number): Promise<MessageAttempts | null>;
    /** A topic's (or one group's) traffic per minute over the last hour or day, from the rollup. */
    traffic(topic: string, opts: TrafficOptions): Promise<TrafficSeries>;
    /** Every topic's and group's traffic per minute over the last hour (the overview's sparklines). */
    trafficSparklines(): Promise<Sparklines>;
  };
  /** Statements this queue has sent to the database (for idle-cost measurements). */
  statementCount(): number;
  /** Ends every subscription, releases leases, closes the pool. */
  close(): Promise<void>;
}

export function createQueue(options: QueueOptions = {}): Queue {
  const opts = parseQueueOptions(options);
  const url = opts.url ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const db = openDb(url, opts.connectionLimit);
  const emit = safeEmitter(opts.onEvent);
  const subscriptions = new Set<QueueSubscription>();
  // One batcher per queue: settles of all its subscriptions share flushes.
  const batcher = new SettleBatcher(db);
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new QueueError("CLOSED", "the queue is closed");
  };

  return {
    // Subscribers in this process hear of a publish at once; others find it at their next poll.
    publisher: createPublisher(db, opts.maxPayloadBytes, {
      isClosed: () => closed,
      published: (topic, count, visibleNow) => {
        emit({ type: "published", topic, count });
        if (visibleNow) for (const s of subscriptions) if (s.id.topic === topic) s.wake();
      },
    }),
    transaction(fn) {
      assertOpen();
      // Begun before fn runs: fn may write on tx.connection (Drizzle) before anything goes through tx.
      return db.tx(fn, { eager: true });
    },
    async ackAll(deliveries, o) {
      assertOpen();
      const tx = checkSettleTx(o);
      if (!tx) throw invalid("ackAll needs the transaction handed to queue.transaction's callback as tx");
      if (!Array.isArray(deliveries)) throw invalid("ackAll takes an array of deliveries");
      const ours = deliveries.map((d, i) => {
        // Another queue's delivery would be looked up here by its coordinates: another message's row.
        if (!(d instanceof QueueDelivery) || !d.isOf(db))
          throw invalid(`deliveries[${i}] is not a delivery of this queue`);
        return d;
      });
      if (ours.length > 0) await QueueDelivery.ackAll(tx, ours);
    },
    subscriber: {
      subscribe(topic, config) {
        assertOpen();
        checkTopic(topic);
        const s = new QueueSubscription(
          db,
          topic,
          parseSubscriptionOptions(config),
          emit,
          (x) => subscriptions.delete(x),
          batcher,
        );
        subscriptions.add(s);
        return s;
      },
    },
    admin: {
      async requeueDeadLetter(a, o) {
        assertOpen();
        return requeueDeadLetter(db, a, o);
      },
      async collectGarbage(o) {
        assertOpen();
        return collectGarbage(db, { trafficRetentionDays: opts.trafficRetentionDays, ...o });
      },
      requeueDeadLetters: (a, o) => requeueDeadLetters(db, a, o),
      deliverNow: (a, o) => deliverNow(db, a, o),
      createJob: (input, o) => createJob(db, input, o),
      runJob: (id, runner) => runJob(db, id, runner),
      cancelJob: (id, o) => cancelJob(db, id, o),
      claimableJobs: () => claimableJobs(db),
      releaseLease: (group, topic, pk, o) => releaseLease(db, group, topic, pk, o),
      resetOffset: (group, topic, pk, toSeq, o) => resetOffset(db, group, topic, pk, toSeq, o),
      deleteMessage: (a, o) => deleteMessage(db, a, o),
      purgeTopic: (topic, o) => purgeTopic(db, topic, o),
      releaseStaleLeases: (leases, o) => releaseStaleLeases(db, leases, o),
      pauseGroup: (group, topic, o) => pauseGroup(db, group, topic, o),
      resumeGroup: (group, topic, o) => resumeGroup(db, group, topic, o),
    },
    inspect: {
      listTopics: () => listTopics(db),
      listPartitions: (topic, o) => listPartitions(db, topic, o),
      listMessages: (topic, o) => listMessages(db, topic, o),
      getMessage: (topic, pk, seq) => getMessage(db, topic, pk, seq),
      listDeferred: (o) => listDeferred(db, o),
      listDlqTopics: () => listDlqTopics(db),
      listDlq: (f, o) => listDlq(db, f, o),
      countDlq: (f) => countDlq(db, f),
      dlqFailureGroups: (f) => dlqFailureGroups(db, f),
      getDeadLetter: (topic, pk, seq) => getDeadLetter(db, topic, pk, seq),
      getJob: (id) => getJob(db, id),
      listJobs: (limit) => listJobs(db, limit),
      listSubscribers: () => listSubscribers(db),
      countMessages: (topic) => countTopicMessages(db, topic),
      staleLeases: (o) => listStaleLeases(db, o),
      getAttempts: (topic, pk, seq) => getAttempts(db, topic, pk, seq),
      traffic: (topic, o) => getTraffic(db, topic, o),
      trafficSparklines: () => trafficSparklines(db),
    },
    statementCount: () => db.statements(),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
      await db.end();
    },
  };
}
