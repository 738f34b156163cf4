// A Delivery and its verbs. Each verb runs in one transaction that locks the
// group-partition row and changes the delivery row only if it still belongs
// to this attempt; a delivery that timed out and went to someone else gets
// DELIVERY_EXPIRED instead of undoing their work.
import { DeliveryState } from "../../db/schema";
import { type Executor, NOW_MS, type QueueDb } from "./db";
import { invalid, QueueError } from "./errors";
import type { QueueEventListener, SettleOutcome } from "./events";
import type { FetchedRow } from "./fetch";
import {
  advanceWatermark,
  type DlqSettings,
  deliveryParams,
  deliveryWhere,
  lockGroupPartition,
  markDead,
  type PartitionRef,
} from "./partition-state";
import type { DeliveredMessage, Delivery, Failure } from "./types";

export interface DeliveryHost {
  db: QueueDb;
  maxAttempts: number;
  dlq: DlqSettings;
  /** Called once the delivery is settled or handed back. */
  onSettled(d: QueueDelivery): void;
  emit: QueueEventListener;
}

const MAX_REQUEUE_DELAY_MS = 365 * 24 * 3600_000;
const REASON_MAX = 16_000;

function checkMs(ms: unknown, what: string, min: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < min || ms > MAX_REQUEUE_DELAY_MS) {
    throw invalid(`${what} must be a number of milliseconds between ${min} and ${MAX_REQUEUE_DELAY_MS}`);
  }
  return Math.ceil(ms);
}

const expired = () =>
  new QueueError("DELIVERY_EXPIRED", "this delivery's visibility timeout passed and the message was delivered again");

export class QueueDelivery implements Delivery {
  readonly message: DeliveredMessage;
  readonly attempt: number;
  readonly failure?: Failure;
  readonly seq: number;
  /**
   * When, on this process's monotonic clock, the visibility timeout runs out.
   * Taken before the fetch statement, so it is never later than the database's
   * visible_at: the partition is then fetched again and the database decides.
   */
  expiresAtMono: number;
  private settled = false;
  /** When the caller got it (this process's monotonic clock), for the processing-time metric. */
  handedOutAt = 0;

  constructor(
    private readonly host: DeliveryHost,
    readonly ref: PartitionRef,
    private readonly row: FetchedRow,
    fetchStartedMono: number,
    visibilityTimeoutMs: number,
  ) {
    this.expiresAtMono = fetchStartedMono + visibilityTimeoutMs;
    this.seq = row.seq;
    this.attempt = row.attempt;
    this.failure = row.failure;
    this.message = {
      id: row.messageId,
      partitionKey: ref.partitionKey,
      payload: row.payload,
      metadata: row.metadata,
      publishedAt: row.publishedAt,
    };
  }

  get topic() {
    return this.ref.topic;
  }

  get isSettled() {
    return this.settled;
  }

  /** Claims the single settle this delivery gets; released again if the database call fails. */
  /** `fn` resolves true when the row is finished for the group, so the watermark may move. */
  private async settle(
    verb: string,
    outcome: (finished: boolean) => SettleOutcome,
    fn: (c: Executor) => Promise<boolean>,
  ): Promise<void> {
    if (this.settled) throw new QueueError("ALREADY_SETTLED", `${verb}: this delivery was already settled`);
    this.settled = true;
    let finished = false;
    try {
      await this.host.db.tx(async (c) => {
        const gp = await lockGroupPartition(c, this.ref);
        finished = await fn(c);
        if (finished && gp) await advanceWatermark(c, this.ref, gp.watermark);
      });
    } catch (err) {
      if (err instanceof QueueError && err.code === "DELIVERY_EXPIRED") {
        // Nothing of ours is out any more: let the partition be fetched again now, not when our own timer runs out.
        this.host.onSettled(this);
      } else this.settled = false;
      throw err;
    }
    this.host.onSettled(this);
    this.host.emit({
      type: "settled",
      topic: this.ref.topic,
      group: this.ref.group,
      outcome: outcome(finished),
      processingMs: this.handedOutAt ? performance.now() - this.handedOutAt : 0,
    });
  }

  private async update(c: Executor, set: string, params: unknown[]): Promise<void> {
    const { affectedRows } = await c.execute(
      `UPDATE queue_deliveries SET ${set}, updated_at = ${NOW_MS} WHERE ${deliveryWhere}`,
      [...params, ...deliveryParams(this.ref, this.seq, this.attempt)],
    );
    if (affectedRows === 0) throw expired();
  }

  private async dead(c: Executor, reason: string): Promise<true> {
    await this.update(c, `state = ${DeliveryState.dead}, last_error = ?`, [reason]);
    const row = this.row;
    await markDead(
      c,
      this.ref,
      { seq: row.seq, logId: row.logId, messageId: row.messageId, payload: row.payload, metadata: row.metadata },
      this.attempt,
      reason,
      this.host.dlq,
    );
    return true;
  }

  ack(): Promise<void> {
    return this.settle(
      "ack",
      () => "acked",
      async (c) => {
        await this.update(c, `state = ${DeliveryState.acked}, owner = NULL`, []);
        return true;
      },
    );
  }

  async nack(options: { requeueAfterMs?: number; reason?: string } = {}): Promise<void> {
    const delay = options.requeueAfterMs === undefined ? 0 : checkMs(options.requeueAfterMs, "requeueAfterMs", 0);
    const reason = (options.reason ?? "nacked").slice(0, REASON_MAX);
    return this.settle(
      "nack",
      (finished) => (finished ? "dead_lettered" : "nacked"),
      async (c) => {
        if (this.attempt >= this.host.maxAttempts) return this.dead(c, reason);
        await this.update(c, `visible_at = ${NOW_MS} + ?, last_error = ?, owner = NULL`, [delay, reason]);
        return false;
      },
    );
  }

  reject(reason: string): Promise<void> {
    if (typeof reason !== "string" || reason.length === 0) {
      return Promise.reject(invalid("reject needs a non-empty reason"));
    }
    return this.settle(
      "reject",
      () => "dead_lettered",
      (c) => this.dead(c, reason.slice(0, REASON_MAX)),
    );
  }

  async extendVisibility(ms: number): Promise<void> {
    const delay = checkMs(ms, "extendVisibility ms", 1);
    if (this.settled) throw new QueueError("ALREADY_SETTLED", "extendVisibility: this delivery was already settled");
    const started = performance.now();
    await this.host.db.tx(async (c) => {
      await lockGroupPartition(c, this.ref);
      await this.update(c, `visible_at = ${NOW_MS} + ?`, [delay]);
    });
    this.expiresAtMono = started + delay;
  }

  /** Gives back a delivery that was fetched but never handed to the caller: it did not use an attempt. */
  async handBack(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.host.db.tx(async (c) => {
      await lockGroupPartition(c, this.ref);
      await c.execute(
        `UPDATE queue_deliveries SET attempts = attempts - 1, visible_at = ${NOW_MS}, owner = NULL, updated_at = ${NOW_MS}
         WHERE ${deliveryWhere}`,
        deliveryParams(this.ref, this.seq, this.attempt),
      );
    });
    this.host.onSettled(this);
  }
}
