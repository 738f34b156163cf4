// The subscriber loop. `next()` hands out what was fetched; when nothing is
// buffered, and every pollIntervalMs while busy, it polls: scan for
// partitions with ready rows, lease up to a fair share of them (giving back
// what it holds beyond it at batch boundaries), and fetch a batch from every
// held partition whose previous batch is settled, so a partition's rows are
// handed out in log order (and batchSize 1 serializes it strictly). The
// settle of a partition's last delivery out fetches its next batch itself
// when rows are ready, and otherwise learns when the next one is due
// (settle.ts). Leases and the heartbeat are renewed on a timer, independent
// of how long the caller takes per delivery.
//
// Longer than our ~400-line rule, on purpose: one class whose state (held
// partitions, their deliveries out, due times, the buffer) every step reads
// and changes; the SQL it runs lives in leases.ts, fetch.ts and settle.ts.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { QueueDb } from "./db";
import { type DeliveryHost, QueueDelivery } from "./delivery";
import { isTransientError } from "./errors";
import type { QueueEventListener } from "./events";
import { type FetchedRow, fetchBatches } from "./fetch";
import {
  heartbeat,
  registerSubscriber,
  type ScannedPartition,
  type ScanResult,
  type SubscriberIdentity,
  scanReadyPartitions,
  unregister,
} from "./leases";
import type { SubscriptionOptions } from "./options";
import { type PartitionRef, releaseLease } from "./partition-state";
import { ScanSchedule } from "./scan-schedule";
import type { SettleBatcher, Settled } from "./settle";
import type { Delivery, Subscription } from "./types";

const MAX_ERROR_BACKOFF_MS = 5_000;
/** Held partitions fetched in one transaction, and such transactions one poll runs at once. */
const FETCH_GROUP = 16;
const FETCH_CONCURRENCY = 2;

type State = "running" | "closing" | "closed";

export class QueueSubscription implements Subscription {
  readonly id: SubscriberIdentity;
  private state: State = "running";
  private registered = false;
  private live = 1;
  /** The partitions with work the last scan saw (held by anyone): the fair share is this over the live subscribers. */
  private wanted = 0;
  private readonly buffer: QueueDelivery[] = [];
  private readonly handedOut = new Set<QueueDelivery>();
  /** Partitions whose lease we hold (or are taking: claiming), with their deliveries not yet settled. */
  private readonly owned = new Map<string, Set<QueueDelivery>>();
  /** Held partitions picked by a scan whose lease the next fetch takes. */
  private readonly claiming = new Set<string>();
  private renewTimer?: NodeJS.Timeout;
  /** The renewal in flight, if any: close waits for it, or it would re-register the subscriber after unregister. */
  private renewing?: Promise<void>;
  private sleeper?: { timer: NodeJS.Timeout; resolve: () => void };
  /** When the next scan for ready partitions is due (monotonic clock), and whether one was asked for sooner. */
  private nextScanAt = Number.NEGATIVE_INFINITY;
  private scanRequested = true;
  /** Which scans read the whole topic. */
  private readonly scans: ScanSchedule;
  /** When the topic's next deferred row is due (monotonic clock). */
  private nextDueAt = Number.POSITIVE_INFINITY;
  /** Held partitions with nothing ready: when their next row is due (monotonic clock), and their head then. */
  private readonly idleUntil = new Map<string, { at: number; head: number }>();
  private chain: Promise<unknown> = Promise.resolve();
  private iterator?: AsyncIterator<Delivery>;
  private closing?: Promise<void>;
  private drainedWaiter?: () => void;
  private readonly host = hostname();
  /** The last error the background renewal met, for diagnostics. */
  lastRenewError?: unknown;

  constructor(
    private readonly db: QueueDb,
    topic: string,
    private readonly opts: SubscriptionOptions,
    private readonly emit: QueueEventListener,
    private readonly onClosed: (s: QueueSubscription) => void,
    batcher: SettleBatcher,
  ) {
    this.id = { instanceId: randomUUID(), subscriberName: opts.subscriberName, group: opts.consumerGroup, topic };
    this.scans = new ScanSchedule(opts.pollIntervalMs);
    this.deliveryHost = {
      db,
      batcher,
      maxAttempts: opts.maxAttempts,
      dlq: opts.dlq,
      onSettled: (d, settled) => this.onDeliverySettled(d, settled),
      // The settle of a partition's last delivery out fetches its next batch when rows are
      // ready (a backlog, or deferred rows come due meanwhile), and otherwise learns when the
      // next is due, giving the lease back if nothing is due soon.
      wantsProbe: (d) =>
        this.isLastOut(d) ? { owner: this.id.instanceId, keepIdleLeaseMs: this.keepIdleLeaseMs() } : undefined,
      // Not for a subscription holding more than its share: the partition is given back instead.
      wantsRefetch: (d) =>
        this.state === "running" && this.owned.size <= this.share && this.isLastOut(d)
          ? { owner: this.id.instanceId, opts: this.opts }
          : undefined,
      emit,
    };
  }

  /**
   * Every call returns the same iterator: deliveries are shared, not copied.
   * Leaving a `for await` loop early (break, throw) closes the subscription.
   */
  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    this.iterator ??= {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
    return this.iterator;
  }

  /** Partitions currently leased by this subscription. */
  heldPartitions(): string[] {
    return [...this.owned.keys()].filter((k) => !this.claiming.has(k));
  }

  next(): Promise<IteratorResult<Delivery>> {
    const run = this.chain.then(() => this.nextInner());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async nextInner(): Promise<IteratorResult<Delivery>> {
    let backoff = 0;
    while (this.state === "running") {
      if (this.buffer.length > 0) await this.pollWhileBusy();
      const d = this.buffer.shift();
      if (d) {
        // Expired while buffered: its partition has been or will be fetched again.
        if (d.expiresAtMono <= performance.now()) {
          this.forget(d);
          continue;
        }
        this.handedOut.add(d);
        d.handedOutAt = performance.now();
        return { done: false, value: d };
      }
      try {
        await this.poll();
        backoff = 0;
      } catch (err) {
        if (!isTransientError(err)) throw err;
        backoff = Math.min(backoff ? backoff * 2 : this.opts.pollIntervalMs, MAX_ERROR_BACKOFF_MS);
        await this.sleep(backoff);
        continue;
      }
      if (this.buffer.length === 0) await this.sleep(this.untilNextPoll());
    }
    return { done: true, value: undefined };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeper = undefined;
        resolve();
      }, ms);
      this.sleeper = { timer, resolve };
    });
  }

  /**
   * How long to wait before polling again: until the next scan
   * (pollIntervalMs after the last one ended) or until the
   * topic's next deferred row is due, whichever is first. Never early: the
   * fetch checks visible_after on the database's clock.
   */
  private untilNextPoll(): number {
    let next = Math.min(this.nextScanAt, this.nextDueAt);
    for (const idle of this.idleUntil.values()) next = Math.min(next, idle.at);
    return Math.max(0, next - performance.now());
  }

  /**
   * Ends the current pause early. `scan`: something was published in this
   * process, so look for new partitions now; otherwise (a settled batch) only
   * the partitions already held are fetched again.
   */
  wake(scan = true) {
    if (scan) this.scanRequested = true;
    const s = this.sleeper;
    if (!s) return;
    this.sleeper = undefined;
    clearTimeout(s.timer);
    s.resolve();
  }

  private async register() {
    await registerSubscriber(this.db, this.id, this.host, process.pid);
    this.registered = true;
    this.renewTimer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => {
        this.renewing = undefined;
      });
    }, this.opts.leaseRenewalIntervalMs);
    this.renewTimer.unref();
  }

  private async renew() {
    if (this.state === "closed") return;
    try {
      const live = await heartbeat(
        this.db,
        this.id,
        this.opts.leaseDurationMs,
        this.host,
        process.pid,
        this.owned.size > 0,
      );
      if (live !== undefined) this.live = live;
      this.lastRenewError = undefined;
    } catch (err) {
      // The next renewal tries again; a lease lost meanwhile is noticed at fetch.
      this.lastRenewError = err;
    }
  }

  private async poll() {
    if (!this.registered) await this.register();
    this.emit({ type: "poll", topic: this.id.topic, group: this.id.group });
    const started = performance.now();
    if (this.scanRequested || started >= this.nextScanAt || started >= this.nextDueAt) {
      this.scanRequested = false;
      await this.scanAndClaim();
      // The interval counts from the end of the scan: an idle subscriber sends
      // at most one statement per pollIntervalMs, however slow the database.
      this.nextScanAt = performance.now() + this.opts.pollIntervalMs;
    }
    if (this.owned.size > this.share) await this.releaseSurplus(this.owned.size - this.share);
    await this.fetchOwned();
  }

  /**
   * Looks for partitions with work and takes a fair share of them. The ones
   * picked join the held set at once and are leased by the fetch that
   * follows, in its own transaction (fetchBatches' claim), or dropped when
   * someone else won them.
   */
  private async scanAndClaim() {
    // Due times beyond the next scan are that scan's business: the index is read no further.
    const horizonMs = 2 * this.opts.pollIntervalMs;
    const liveWithinMs = this.opts.leaseDurationMs;
    const publishedSince = this.scans.publishedSince(performance.now());
    let scan = await scanReadyPartitions(this.db, this.id, horizonMs, { publishedSince, liveWithinMs });
    this.live = scan.live;
    // A changes-only scan that found partitions this subscriber may take: with others live,
    // the whole topic decides its share before it takes any. Alone, its share is all of them.
    if (scan.leasedCount === null && scan.live > 1 && this.mayTake(this.claimable(scan))) {
      scan = await scanReadyPartitions(this.db, this.id, horizonMs, { liveWithinMs });
      this.live = scan.live;
    }
    const free = this.claimable(scan);
    this.scans.scanned(scan, performance.now(), free.length);
    // +1 ms: the database's clock has millisecond steps; waking a little late beats an empty fetch.
    this.nextDueAt = scan.nextDueInMs === null ? Number.POSITIVE_INFINITY : performance.now() + scan.nextDueInMs + 1;
    const ready = scan.partitions;
    // A held idle partition whose head moved has had something published: fetch it now.
    for (const p of ready) {
      const idle = this.idleUntil.get(p.partitionKey);
      if (idle && p.head > idle.head) this.idleUntil.delete(p.partitionKey);
    }
    if (scan.leasedCount !== null) {
      // The partitions with work: the held ones (ours among them), and the ready ones nobody holds.
      this.wanted = Math.max(scan.leasedCount + ready.filter((p) => !p.leased).length, this.owned.size);
    } else if (scan.live === 1) {
      // Alone, after a changes-only scan: what it holds and what it found are the work it knows of.
      this.wanted = Math.max(this.wanted, this.owned.size + free.length);
    } else {
      return;
    }
    // Fair share: live subscribers split the partitions that have work.
    const target = this.share;
    if (this.owned.size < target) {
      shuffle(free);
      // Which ones are picked is random; they are fetched, and handed out, in key order.
      const picked = free.slice(0, target - this.owned.size).map((p) => p.partitionKey);
      for (const k of picked.sort()) {
        this.owned.set(k, new Set());
        this.claiming.add(k);
      }
    }
  }

  /** The scanned partitions nobody else holds that this subscription does not hold yet. */
  private claimable(scan: ScanResult): ScannedPartition[] {
    return scan.partitions.filter(
      (p) => !this.owned.has(p.partitionKey) && (!p.leased || p.leaseOwner === this.id.instanceId),
    );
  }

  /** Whether, with `free` added to the partitions with work, this subscription's share would let it take one. */
  private mayTake(free: ScannedPartition[]): boolean {
    return free.length > 0 && this.owned.size < Math.ceil((this.wanted + free.length) / this.live);
  }

  /**
   * Fetches a batch from every held partition whose previous batch is
   * settled and that is not waiting for a due time: up to FETCH_GROUP
   * partitions per transaction, two such transactions at once.
   */
  private async fetchOwned() {
    const now = performance.now();
    const keys = [...this.owned]
      .filter(([k, out]) => {
        // Monotonic times may be negative (a process's clock may be shifted): no default of 0.
        const idle = this.idleUntil.get(k);
        return fetchable(out) && (idle === undefined || idle.at <= now);
      })
      .map(([k]) => k);
    const groups: string[][] = [];
    for (let i = 0; i < keys.length; i += FETCH_GROUP) groups.push(keys.slice(i, i + FETCH_GROUP));
    let next = 0;
    const worker = async () => {
      while (next < groups.length) await this.fetchGroup(groups[next++] as string[]);
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, groups.length) }, worker));
  }

  private async fetchGroup(partitionKeys: string[]) {
    const refs = partitionKeys.map((partitionKey) => ({ group: this.id.group, topic: this.id.topic, partitionKey }));
    const started = performance.now();
    const claim = partitionKeys.filter((k) => this.claiming.has(k));
    const results = await fetchBatches(
      this.db,
      refs,
      this.id.instanceId,
      { ...this.opts, keepIdleLeaseMs: this.keepIdleLeaseMs() },
      { partitionKeys: claim, leaseDurationMs: this.opts.leaseDurationMs },
    );
    // Taken or lost, the claims are settled: a lost one comes back as "lost" and is dropped below.
    for (const k of claim) this.claiming.delete(k);
    results.forEach((res, i) => {
      const ref = refs[i];
      const out = ref && this.owned.get(ref.partitionKey);
      if (!ref || !out) return;
      if (res.kind === "idle") {
        this.waitIdle(ref.partitionKey, res.dueInMs, res.head);
        return;
      }
      this.idleUntil.delete(ref.partitionKey);
      if (res.kind !== "rows") {
        this.dropPartition(ref.partitionKey);
        return;
      }
      this.accept(ref, out, res.rows, started);
    });
  }

  /** Buffers a held partition's fetched rows as deliveries; `started`: monotonic time before they were read. */
  private accept(ref: PartitionRef, out: Set<QueueDelivery>, rows: FetchedRow[], started: number) {
    for (const row of rows) {
      const d = new QueueDelivery(this.deliveryHost, ref, row, started, this.opts.visibilityTimeoutMs);
      this.buffer.push(d);
      out.add(d);
      this.emit({
        type: "delivered",
        topic: this.id.topic,
        group: this.id.group,
        attempt: row.attempt,
        latencyMs: Math.max(0, row.fetchedAt - row.visibleSince),
      });
    }
  }

  /** `d` is the last of its partition's deliveries not yet settled. */
  private isLastOut(d: QueueDelivery): boolean {
    const out = this.owned.get(d.ref.partitionKey);
    return out !== undefined && [...out].every((x) => x === d || x.isSettled);
  }

  /**
   * This subscription's fair share of the partitions with work, from the last
   * scan and the latest count of live subscribers. Held partitions beyond it
   * are given back at their next batch boundary (nothing out), busy or not: a
   * subscriber that started first against a backlog would otherwise keep every
   * partition while the others idle.
   */
  private get share(): number {
    return Math.max(1, Math.ceil(this.wanted / this.live));
  }

  /**
   * A subscription with deliveries buffered polls too, at the same cadence
   * as an idle one: otherwise, kept busy, it would not take partitions whose
   * leases ran out (a killed subscriber's) or that others gave back, nor learn
   * of a subscriber that joined. Between polls it gives back what it holds
   * beyond its share as each of those partitions reaches a batch boundary
   * (their settles no longer refetch). A transient error leaves things as
   * they are; the next call tries again.
   */
  private async pollWhileBusy() {
    try {
      if (this.registered && (this.scanRequested || performance.now() >= this.nextScanAt)) await this.poll();
      else if (this.owned.size > this.share) await this.releaseSurplus(this.owned.size - this.share);
    } catch (err) {
      if (!isTransientError(err)) throw err;
    }
  }

  /** Gives back up to `count` held partitions with nothing out (between batches: the next owner starts at the watermark). */
  private async releaseSurplus(count: number) {
    const between = [...this.owned].filter(([, out]) => out.size === 0).slice(0, count);
    for (const [k] of between) {
      // A partition picked but not yet claimed has no lease to give back.
      if (!this.claiming.has(k)) {
        await releaseLease(
          this.db,
          { group: this.id.group, topic: this.id.topic, partitionKey: k },
          this.id.instanceId,
        );
      }
      this.dropPartition(k);
    }
  }

  /** Forgets a partition whose lease is gone: what is held of it, its due time, its last batch. */
  private dropPartition(k: string) {
    this.owned.delete(k);
    this.claiming.delete(k);
    this.idleUntil.delete(k);
  }

  /** A held partition with nothing ready: fetch it again when its next row is due in `dueInMs` (database clock). */
  private waitIdle(k: string, dueInMs: number, head: number) {
    // +1 ms: the database's clock has millisecond steps; waking a little late beats an empty fetch.
    this.idleUntil.set(k, { at: performance.now() + dueInMs + 1, head });
  }

  private readonly deliveryHost: DeliveryHost;
  /** Hand-backs of rows a settle fetched after this subscription let their partition go. */
  private readonly handingBack = new Set<Promise<void>>();

  /** Within half a lease, holding on is cheaper than giving back and claiming again (one renewal covers all). */
  private keepIdleLeaseMs() {
    return Math.floor(this.opts.leaseDurationMs / 2);
  }

  private onDeliverySettled(d: QueueDelivery, settled?: Settled) {
    this.forget(d);
    const k = d.ref.partitionKey;
    if (settled?.fetched) {
      // The settle fetched the partition's next batch: buffer it, or give it back if this
      // subscription no longer holds the partition or is closing.
      const out = this.owned.get(k);
      if (out && this.state === "running") this.accept(d.ref, out, settled.fetched.rows, settled.fetched.startedMono);
      else this.handBackLater(d.ref, settled.fetched.rows, settled.fetched.startedMono);
      this.wake(false);
      return;
    }
    if (this.owned.get(k)?.size !== 0) return;
    const probe = settled?.probe;
    if (probe?.released) {
      // Nothing due soon: the settle gave the lease back, as a fetch finding the partition drained would.
      this.dropPartition(k);
      return;
    }
    // Nothing ready and nothing out, the next row due soon: wait for it as a fetch
    // that found nothing would, without the fetch. Otherwise fetch again now.
    if (probe && !probe.ready && !probe.out && probe.dueInMs !== null) this.waitIdle(k, probe.dueInMs, probe.head);
    // Either way the pause ends: the partition is fetched again, or the sleep is measured anew.
    this.wake(false);
  }

  /** Rows fetched for a partition this subscription is done with: handed back, and close waits for that. */
  private handBackLater(ref: PartitionRef, rows: FetchedRow[], started: number) {
    for (const row of rows) {
      const d = new QueueDelivery(this.deliveryHost, ref, row, started, this.opts.visibilityTimeoutMs);
      // Not handed back (the database away): the row comes back when its visibility timeout runs out.
      const done = d.handBack().catch(() => undefined);
      this.handingBack.add(done);
      void done.finally(() => this.handingBack.delete(done));
    }
  }

  private forget(d: QueueDelivery) {
    this.handedOut.delete(d);
    this.owned.get(d.ref.partitionKey)?.delete(d);
    if (this.handedOut.size === 0) this.drainedWaiter?.();
  }

  close(): Promise<void> {
    this.closing ??= this.closeInner();
    return this.closing;
  }

  private async closeInner() {
    if (this.state === "closed") return;
    this.state = "closing";
    this.wake();
    // Let a poll in progress finish, so nothing it fetches is stranded.
    await this.chain;
    try {
      for (const d of this.buffer.splice(0)) await d.handBack();
      // Wait for handed-out deliveries to be settled, but not past their
      // visibility timeout: after that they belong to whoever fetches them next.
      const now = performance.now();
      let latest = now;
      for (const d of this.handedOut) {
        if (d.expiresAtMono <= now) this.forget(d);
        else latest = Math.max(latest, d.expiresAtMono);
      }
      if (this.handedOut.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(this.opts.closeTimeoutMs, latest - now));
          this.drainedWaiter = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // A settle that fetched before the close began may have left rows to give back.
      await Promise.all(this.handingBack);
      // Renewals go on while handlers finish (their leases must hold); they stop before unregister.
      if (this.renewTimer) clearInterval(this.renewTimer);
      await this.renewing;
      if (this.registered) await unregister(this.db, this.id);
    } finally {
      this.state = "closed";
      if (this.renewTimer) clearInterval(this.renewTimer);
      this.owned.clear();
      this.claiming.clear();
      this.idleUntil.clear();
      this.onClosed(this);
    }
  }
}

/** A partition is fetched again once every delivery it has out is settled or past its visibility timeout. */
function fetchable(out: Set<QueueDelivery>): boolean {
  const now = performance.now();
  for (const d of out) if (d.expiresAtMono > now) return false;
  return true;
}

function shuffle<T>(a: T[]) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = a[i] as T;
    a[i] = a[j] as T;
    a[j] = t;
  }
}
