// A Delivery and its verbs. Every change locks the group-partition row and
// changes the delivery row only if it still belongs to this attempt; a
// delivery that timed out and went to someone else gets DELIVERY_EXPIRED
// instead of undoing their work. Settles go through the queue's batcher
// (settle.ts) unless the caller passes its own transaction.
import { AttemptOutcome, DeliveryState } from "@/db/schema";
import { NOW_MS, type QueueDb, type TxExecutor } from "./db";
import { invalid, QueueError } from "./errors";
import type { QueueEventListener, SettleOutcome } from "./events";
import type { FetchedRow } from "./fetch";
import {
  type DlqSettings,
  deliveryParams,
  deliveryWhere,
  lockGroupPartition,
  type PartitionRef,
  type ProbeRelease,
} from "./partition-state";
import {
  deliveryExpired,
  type Refetch,
  type SettleBatcher,
  type Settled,
  type SettleRequest,
  writeSettles,
} from "./settle";
import type { DeliveredMessage, Delivery, Failure, NackOptions, SettleOptions } from "./types";

export interface DeliveryHost {
  db: QueueDb;
  batcher: SettleBatcher;
  maxAttempts: number;
  dlq: DlqSettings;
  /**
   * Called once the delivery is settled or handed back, with what its
   * partition holds next when the settle asked (see wantsProbe), or the
   * partition's next batch when the settle fetched it (see wantsRefetch).
   */
  onSettled(d: QueueDelivery, settled?: Settled): void;
  /**
   * Whether settling `d` should also probe its partition (it is the last of
   * its partition's deliveries still out), and whose lease the settle gives
   * back when nothing is due soon.
   */
  wantsProbe(d: QueueDelivery): ProbeRelease | undefined;
  /** Whether settling `d` should also fetch its partition's next batch, and for whom (settle.ts, Refetch). */
  wantsRefetch(d: QueueDelivery): Refetch | undefined;
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

export function checkSettleTx(opts: SettleOptions | undefined): TxExecutor | undefined {
  const tx = opts?.tx;
  if (tx === undefined) return undefined;
  if (typeof tx !== "object" || tx === null || typeof (tx as TxExecutor).commitWith !== "function") {
    throw invalid("tx must be the transaction handed to queue.transaction's callback");
  }
  return tx as TxExecutor;
}

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

  /** Whether this delivery came from a subscription on `db` (a queue's own database pool). */
  isOf(db: QueueDb): boolean {
    return this.host.db === db;
  }

  get isSettled() {
    return this.settled;
  }

  /**
   * Claims the single settle this delivery gets and builds its request;
   * `done` reports it settled (with what its partition holds next).
   */
  private claim(
    verb: string,
    what: Pick<SettleRequest, "kind" | "delayMs" | "reason">,
    outcome: SettleOutcome,
    inTx: boolean,
  ): { request: SettleRequest; done: (settled?: Settled) => void } {
    if (this.settled) throw new QueueError("ALREADY_SETTLED", `${verb}: this delivery was already settled`);
    this.settled = true;
    const request: SettleRequest = {
      ...what,
      ref: this.ref,
      seq: this.seq,
      attempt: this.attempt,
      fetchNo: this.row.fetchNo,
      probe: this.host.wantsProbe(this),
      // Not in the caller's transaction: the batch would be handed out before it commits.
      refetch: inTx ? undefined : this.host.wantsRefetch(this),
    };
    if (what.kind === "dead") {
      const row = this.row;
      request.failed = {
        seq: row.seq,
        logId: row.logId,
        messageId: row.messageId,
        payload: row.payload,
        metadata: row.metadata,
      };
      request.dlq = this.host.dlq;
    }
    const done = (settled?: Settled) => {
      this.host.onSettled(this, settled);
      this.host.emit({
        type: "settled",
        topic: this.ref.topic,
        group: this.ref.group,
        outcome,
        processingMs: this.handedOutAt ? performance.now() - this.handedOutAt : 0,
      });
    };
    return { request, done };
  }

  /** A settle written in the caller's transaction `tx`: it counts once that commits, and is free again if it rolls back. */
  private written(tx: TxExecutor, result: Settled | undefined, done: (settled?: Settled) => void) {
    tx.afterCommit(() => done(result));
    tx.afterRollback(() => {
      this.settled = false;
    });
  }

  private failed(err: unknown) {
    if (err instanceof QueueError && err.code === "DELIVERY_EXPIRED") {
      // Nothing of ours is out any more: let the partition be fetched again now, not when our own timer runs out.
      this.host.onSettled(this);
    } else this.settled = false;
  }

  /** Writes the settle through the queue's batcher, or in the caller's transaction `tx`. */
  private async settle(
    verb: string,
    what: Pick<SettleRequest, "kind" | "delayMs" | "reason">,
    outcome: SettleOutcome,
    tx: TxExecutor | undefined,
  ): Promise<void> {
    const { request, done } = this.claim(verb, what, outcome, tx !== undefined);
    if (tx) {
      let result: QueueError | Settled | undefined;
      try {
        [result] = await writeSettles(tx, [request]);
      } catch (err) {
        this.failed(err);
        throw err;
      }
      if (result instanceof QueueError) {
        this.failed(result);
        throw result;
      }
      this.written(tx, result, done);
      return;
    }
    let settled: Settled;
    try {
      settled = await this.host.batcher.settle(request);
    } catch (err) {
      this.failed(err);
      throw err;
    }
    done(settled);
  }

  /**
   * Acks `deliveries` in `tx` with one write for all of them (see
   * Queue.ackAll). When any has expired it rejects with DELIVERY_EXPIRED and
   * none counts as settled: the caller's transaction must roll back.
   */
  static async ackAll(tx: TxExecutor, deliveries: readonly QueueDelivery[]): Promise<void> {
    const claimed: Array<{ d: QueueDelivery; request: SettleRequest; done: (settled?: Settled) => void }> = [];
    try {
      for (const d of deliveries) claimed.push({ d, ...d.claim("ackAll", { kind: "ack" }, "acked", true) });
      const results = await writeSettles(
        tx,
        claimed.map((c) => c.request),
      );
      // All or nothing: the caller rolls back, and each delivery may be settled again (an expired one then fails alone).
      const expired = results.find((r) => r instanceof QueueError);
      if (expired) throw expired;
      claimed.forEach((c, i) => {
        c.d.written(tx, results[i] as Settled, c.done);
      });
    } catch (err) {
      for (const c of claimed) c.d.settled = false;
      throw err;
    }
  }

  async ack(opts?: SettleOptions): Promise<void> {
    return this.settle("ack", { kind: "ack" }, "acked", checkSettleTx(opts));
  }

  async nack(options: NackOptions = {}): Promise<void> {
    const delay = options.requeueAfterMs === undefined ? 0 : checkMs(options.requeueAfterMs, "requeueAfterMs", 0);
    const reason = (options.reason ?? "nacked").slice(0, REASON_MAX);
    const tx = checkSettleTx(options);
    if (this.attempt >= this.host.maxAttempts) {
      return this.settle("nack", { kind: "dead", reason }, "dead_lettered", tx);
    }
    return this.settle("nack", { kind: "nack", delayMs: delay, reason }, "nacked", tx);
  }

  async reject(reason: string, opts?: SettleOptions): Promise<void> {
    if (typeof reason !== "string" || reason.length === 0) throw invalid("reject needs a non-empty reason");
    return this.settle(
      "reject",
      { kind: "dead", reason: reason.slice(0, REASON_MAX) },
      "dead_lettered",
      checkSettleTx(opts),
    );
  }

  async extendVisibility(ms: number): Promise<void> {
    const delay = checkMs(ms, "extendVisibility ms", 1);
    if (this.settled) throw new QueueError("ALREADY_SETTLED", "extendVisibility: this delivery was already settled");
    const started = performance.now();
    await this.host.db.tx(async (c) => {
      await lockGroupPartition(c, this.ref);
      const { affectedRows } = await c.execute(
        `UPDATE queue_deliveries SET visible_at = ${NOW_MS} + ?, updated_at = ${NOW_MS} WHERE ${deliveryWhere}`,
        [delay, ...deliveryParams(this.ref, this.seq, this.attempt)],
      );
      if (affectedRows === 0) throw deliveryExpired();
    });
    this.expiresAtMono = started + delay;
  }

  /** Gives back a delivery that was fetched but never handed to the caller: it did not use an attempt. */
  async handBack(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.host.db.tx(async (c) => {
      await lockGroupPartition(c, this.ref);
      const { group, topic, partitionKey } = this.ref;
      await c.script([
        {
          // Before the delivery row changes, and only while it is still this attempt.
          sql: `UPDATE queue_attempts a
                JOIN queue_deliveries d
                  ON d.consumer_group = a.consumer_group AND d.topic = a.topic AND d.partition_key = a.partition_key AND d.seq = a.seq
                SET a.outcome = ${AttemptOutcome.handedBack}, a.settled_at = ${NOW_MS}, a.reason = 'handed back unprocessed when the subscriber closed'
                WHERE a.topic = ? AND a.partition_key = ? AND a.seq = ? AND a.consumer_group = ? AND a.fetch_no = ?
                  AND a.outcome IS NULL AND d.attempts = ? AND d.state = ${DeliveryState.inFlight}`,
          params: [topic, partitionKey, this.seq, group, this.row.fetchNo, this.attempt],
        },
        {
          sql: `UPDATE queue_deliveries SET attempts = attempts - 1, visible_at = ${NOW_MS}, owner = NULL, updated_at = ${NOW_MS}
                WHERE ${deliveryWhere}`,
          params: deliveryParams(this.ref, this.seq, this.attempt),
        },
      ]);
    });
    this.host.onSettled(this);
  }
}
