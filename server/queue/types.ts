import type { SubscriptionInput } from "./options";

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
  /** Publishes atomically: every message of the call is stored, or none is. */
  publish(topic: string, messages: Message | Message[]): Promise<void>;
  /**
   * Publishes a message no subscriber sees before `now + delayMs` on the
   * database's clock. `delayMs <= 0` is `publish`. Touches no retry count.
   */
  publishAfter(topic: string, message: Message, delayMs: number): Promise<void>;
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
  ack(): Promise<void>;
  /** A failed delivery: counts toward maxAttempts; the last one goes to the DLQ. */
  nack(options?: { requeueAfterMs?: number; reason?: string }): Promise<void>;
  /** To the DLQ now, whatever the attempt count. */
  reject(reason: string): Promise<void>;
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
