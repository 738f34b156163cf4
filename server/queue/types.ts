import type { TxExecutor } from "./db";
import type { SubscriptionInput } from "./options";

/**
 * A transaction of the queue's database, handed to `queue.transaction`'s
 * callback. Publishes and settles given it as `tx` commit or roll back with
 * it, together with whatever the caller writes through `tx.query`/`execute`
 * or on `tx.connection` (a mysql2 connection, e.g. for Drizzle).
 */
export type QueueTx = TxExecutor;

export interface PublishOptions {
  /** Write in this transaction instead of one of the publish's own. Default: none. */
  tx?: QueueTx;
}

export interface SettleOptions {
  /** Write the settle in this transaction instead of the queue's batched flush. Default: none. */
  tx?: QueueTx;
}

export interface NackOptions extends SettleOptions {
  /** How long until the message is delivered again, ms. Default 0. */
  requeueAfterMs?: number;
  /** Kept as the delivery's last error (and the DLQ reason if this was the last attempt). Default "nacked". */
  reason?: string;
}

export interface Message {
  /**
   * Dedup key within (topic, partitionKey). It names the *occasion* to publish,
   * not the entity: two different causes about the same entity need two ids
   * (see `occasionId`). A repeated publish of the same id stores nothing.
   */
  id: string;
  partitionKey: string;
  payload: string | Uint8Array;
  metadata?: Record<string, string>;
}

export interface Publisher {
  /**
   * Publishes atomically: every message of the call is stored, or none is.
   * Resolves once they are committed (with `opts.tx`: written in that
   * transaction, committed with it).
   */
  publish(topic: string, messages: Message | Message[], opts?: PublishOptions): Promise<void>;
  /**
   * Publishes messages no subscriber sees before `now + delayMs` on the
   * database's clock, atomically as `publish` does. `delayMs <= 0` is
   * `publish`. Touches no retry count.
   */
  publishAfter(topic: string, messages: Message | Message[], delayMs: number, opts?: PublishOptions): Promise<void>;
}

export interface Failure {
  reason: string;
  failureCount: number;
  failedAt: number;
  originalTopic: string;
  /** The consumer group whose deliveries failed. */
  consumerGroup: string;
}

export interface DeliveredMessage {
  id: string;
  partitionKey: string;
  payload: Buffer;
  metadata: Record<string, string>;
  publishedAt: number;
}

export interface Delivery {
  topic: string;
  message: DeliveredMessage;
  /** 1 on the first delivery. */
  attempt: number;
  /** Present on deliveries from a DLQ topic. */
  failure?: Failure;
  /** Resolves once the ack is committed; acks of one queue are written together in batches. */
  ack(opts?: SettleOptions): Promise<void>;
  /** A failed delivery: counts toward maxAttempts; the last one goes to the DLQ. */
  nack(options?: NackOptions): Promise<void>;
  /** To the DLQ now, whatever the attempt count. */
  reject(reason: string, opts?: SettleOptions): Promise<void>;
  /** Keeps this delivery invisible to others for `ms` more, from now. */
  extendVisibility(ms: number): Promise<void>;
}

export interface Subscription extends AsyncIterable<Delivery> {
  /** Graceful: ends the iteration, hands back what was fetched but not handed out, releases leases. */
  close(): Promise<void>;
}

export interface Subscriber {
  /** Partial config over the defaults (see options.ts); subscriberName and consumerGroup required. */
  subscribe(topic: string, config: SubscriptionInput): Subscription;
}
