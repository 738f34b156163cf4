// The fault suite's process harness: starts publisher and consumer processes,
// kills (SIGKILL) or stops (SIGTERM) and restarts them, collects what they
// record, accounts for deliveries caught in flight by a kill, drains the
// backlog once the faults stop, and turns it all into a ScenarioResult.
import type mysql from "mysql2/promise";
import { NOW_MS_SQL } from "../db/clock";
import { openUtcPool } from "../db/client";
import { check } from "./checker";
import { Child } from "./child";
import type { ConsumerConfig } from "./proc/consumer";
import type { ChildLine } from "./proc/lines";
export type { ChildLine } from "./proc/lines";
import type { PublisherConfig } from "./proc/publisher";
import type { CheckResult, DeliveryRecord, PublishRecord, ScenarioOptions, ScenarioResult } from "./types";

/**
 * Subscription settings that let a killed consumer's work come back within
 * seconds; maxAttempts is high because every kill and every slow moment on a
 * busy machine spends an attempt, and the DLQ is not what is under test.
 */
export const FAST_SUBSCRIPTION = {
  pollIntervalMs: 50,
  batchSize: 5,
  visibilityTimeoutMs: 4000,
  leaseRenewalIntervalMs: 300,
  leaseDurationMs: 1500,
  maxAttempts: 1000,
  closeTimeoutMs: 5000,
} as const;

const TERMINATE_TIMEOUT_MS = 20_000;

export type PublisherSpec = Omit<PublisherConfig, "url" | "name">;
export type ConsumerSpec = Omit<ConsumerConfig, "url" | "consumer" | "subscriberName">;

/** A role a process plays; restarting it starts a new incarnation of the same slot. */
export interface Slot {
  readonly base: string;
  readonly kind: "publisher" | "consumer";
  incarnation: number;
  child?: Child;
  /** Left stopped: the drain does not bring it back. */
  retired: boolean;
}

interface PublisherSlot extends Slot {
  kind: "publisher";
  spec: PublisherSpec;
}

interface ConsumerSlot extends Slot {
  kind: "consumer";
  spec: ConsumerSpec;
}

/** A delivery handed to a consumer that was killed before its ack's outcome was printed. */
interface InFlight {
  group: string;
  topic: string;
  partitionKey: string;
  id: string;
  seq: number;
  attempt: number;
  consumer: string;
  n: number;
  resolved: boolean;
}

export interface DrainResult {
  complete: boolean;
  /** Expected (group, id) pairs still undelivered when the drain ended. */
  missing: number;
  ms: number;
}

export class Harness {
  readonly publishes: PublishRecord[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly inFlight: InFlight[] = [];
  /** Process failures the harness did not cause (crashes, refused graceful stops). */
  readonly problems: string[] = [];
  kills = 0;
  /** Messages whose publish() a kill interrupted: they may or may not be stored. */
  unackedAtKill = 0;
  terminations = 0;
  restarts = 0;
  private readonly slots: Slot[] = [];
  private readonly background = new Set<Promise<void>>();
  private readonly acked = new Set<string>();
  private readonly unacked = new Set<string>();
  private readonly storedUnacked = new Set<string>();
  private readonly deliveredByGroup = new Map<string, Set<string>>();
  /** Hand-outs per group and message id, and those whose ack was refused. */
  private readonly handedOut = new Map<string, number>();
  private readonly ackRefused = new Set<string>();
  private poolHandle?: mysql.Pool;

  constructor(
    readonly url: string,
    private readonly logLine: (line: string) => void = () => {},
  ) {}

  log(line: string): void {
    this.logLine(line);
  }

  get pool(): mysql.Pool {
    this.poolHandle ??= openUtcPool(this.url, { connectionLimit: 3 });
    return this.poolHandle;
  }

  async sql<T = Record<string, unknown>>(statement: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.pool.query(statement, params);
    return rows as T[];
  }

  // ---- processes ----

  async startPublisher(base: string, spec: PublisherSpec): Promise<Slot> {
    this.claimName(base);
    const slot: PublisherSlot = { base, kind: "publisher", incarnation: 0, retired: false, spec };
    this.slots.push(slot);
    await this.launch(slot);
    return slot;
  }

  async startConsumer(base: string, spec: ConsumerSpec): Promise<Slot> {
    this.claimName(base);
    const slot: ConsumerSlot = { base, kind: "consumer", incarnation: 0, retired: false, spec };
    this.slots.push(slot);
    await this.launch(slot);
    return slot;
  }

  /** Names end up in message ids and record streams: two slots of one name would mix them up. */
  private claimName(base: string): void {
    if (this.slots.some((s) => s.base === base)) throw new Error(`a process slot named ${base} already exists`);
  }

  consumers(group?: string): Slot[] {
    return this.slots.filter(
      (s) => s.kind === "consumer" && (group === undefined || (s as ConsumerSlot).spec.group === group),
    );
  }

  publishers(): Slot[] {
    return this.slots.filter((s) => s.kind === "publisher");
  }

  running(slot: Slot): boolean {
    return slot.child?.running ?? false;
  }

  /** Running and past start-up: the ones worth striking. */
  live(slots: Slot[]): Slot[] {
    return slots.filter((s) => s.child?.running && s.child.isReady);
  }

  /** Restarts the slot after `delayMs` without waiting for it; `settle()` waits for every such restart. */
  restartLater(slot: Slot, delayMs: number): void {
    this.track(`restart of ${slot.base}`, () => pause(delayMs).then(() => this.restart(slot)));
  }

  /** Runs work in the background; `settle()` waits for it and a failure becomes a problem. */
  track(what: string, work: () => Promise<unknown>): void {
    const task = work().then(
      () => {},
      (err: unknown) => {
        this.problems.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
    this.background.add(task);
    void task.finally(() => this.background.delete(task));
  }

  /** Waits for the restarts under way. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  /** Starts the slot's next incarnation and waits until it is ready. */
  async restart(slot: Slot): Promise<void> {
    if (this.running(slot)) throw new Error(`${slot.base} is still running`);
    slot.retired = false;
    this.restarts++;
    await this.launch(slot);
  }

  /**
   * SIGKILL; resolves once the process is gone. Returns what it had in flight:
   * a consumer's deliveries without a printed outcome, a publisher's
   * publishes attempted but not acknowledged.
   */
  async kill(slot: Slot): Promise<number> {
    const child = slot.child;
    if (!child?.running) return 0;
    const before = this.inFlight.length + this.unackedAtKill;
    child.signal("SIGKILL");
    this.kills++;
    await child.closed;
    return this.inFlight.length + this.unackedAtKill - before;
  }

  /**
   * SIGKILL at a chosen point of the process's own progress: `delayMs` after
   * the next line that `match` accepts (e.g. a publisher's attempt line, so
   * the kill lands inside publish()). Returns what `kill` returns.
   */
  async killOnLine(slot: Slot, match: (line: ChildLine) => boolean, delayMs = 0): Promise<number> {
    const child = slot.child;
    if (!child?.running) return 0;
    const seen = new Promise<void>((resolve) => {
      child.watchers.add((line) => {
        if (!match(line)) return false;
        resolve();
        return true;
      });
      void child.closed.then(() => resolve());
    });
    await seen;
    if (delayMs > 0) await pause(delayMs);
    return this.kill(slot);
  }

  /** SIGTERM, the graceful stop; a process that does not exit in time is killed and reported. */
  async terminate(slot: Slot, timeoutMs = TERMINATE_TIMEOUT_MS): Promise<void> {
    const child = slot.child;
    if (!child?.running) return;
    child.signal("SIGTERM");
    this.terminations++;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), timeoutMs);
    });
    const outcome = await Promise.race([child.closed, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.problems.push(`${child.name} did not stop within ${timeoutMs} ms of SIGTERM`);
      child.signal("SIGKILL");
      await child.closed;
    }
  }

  /** Stops the slot and keeps it stopped through the drain. */
  async retire(slot: Slot, how: "SIGTERM" | "SIGKILL"): Promise<void> {
    slot.retired = true;
    if (how === "SIGKILL") await this.kill(slot);
    else await this.terminate(slot);
  }

  /** Ends the traffic: every publisher stops gracefully, finishing the publish it is in. */
  async stopPublishers(): Promise<void> {
    const live = this.publishers().filter((s) => this.running(s));
    for (const s of live) s.retired = true;
    await Promise.all(live.map((s) => this.terminate(s)));
  }

  private async launch(slot: Slot): Promise<void> {
    slot.incarnation++;
    const name = `${slot.base}_${slot.incarnation}`;
    let child: Child;
    if (slot.kind === "publisher") {
      const spec = (slot as PublisherSlot).spec;
      const config: PublisherConfig = { ...spec, url: this.url, name };
      const attempts = new Set<string>();
      child = new Child(name, "publisher", config, (l) => this.onPublisherLine(attempts, l));
      void child.closed.then(() => {
        if (child.signalled === "SIGKILL" || child.failed) this.unackedAtKill += attempts.size;
      });
    } else {
      const spec = (slot as ConsumerSlot).spec;
      const config: ConsumerConfig = {
        ...spec,
        options: { ...FAST_SUBSCRIPTION, ...spec.options },
        url: this.url,
        subscriberName: slot.base,
        consumer: name,
      };
      const tracker = new FetchTracker(spec.group, spec.topic, name);
      child = new Child(name, "consumer", config, (l) => this.onConsumerLine(tracker, l));
      void child.closed.then(() => {
        // Fetched with no outcome printed: the ack may or may not have committed.
        if (child.signalled === "SIGKILL" || child.failed) this.inFlight.push(...tracker.pending());
      });
    }
    slot.child = child;
    void child.closed.then((exit) => {
      if (child.failed)
        this.problems.push(`${name} exited with ${exit.signal ?? exit.code}: ${child.stderr.trim().slice(-600)}`);
    });
    // A process the harness itself struck during start-up is the fault, not a failure.
    await child.ready.catch((err: unknown) => {
      if (!child.signalled) throw err;
    });
  }

  private onPublisherLine(attempts: Set<string>, line: ChildLine): void {
    if (line.t === "pub") {
      const { t: _t, ...record } = line;
      this.publishes.push(record);
      if (record.acked) attempts.delete(record.id);
      else attempts.add(record.id);
      if (record.acked) {
        this.acked.add(record.id);
        this.unacked.delete(record.id);
      } else if (!this.acked.has(record.id)) this.unacked.add(record.id);
    } else if (line.t === "error") this.log(`publisher error: ${line.message}`);
  }

  private onConsumerLine(tracker: FetchTracker, line: ChildLine): void {
    tracker.see(line);
    if (line.t === "fetched" || line.t === "ackfail") {
      const k = `${tracker.group}\u0000${line.id}`;
      if (line.t === "fetched") this.handedOut.set(k, (this.handedOut.get(k) ?? 0) + 1);
      else this.ackRefused.add(k);
    }
    if (line.t === "del") {
      const { t: _t, attempt: _a, ...record } = line;
      this.recordDelivery(record);
    } else if (line.t === "error") this.log(`${tracker.consumer} error: ${line.message}`);
  }

  private recordDelivery(record: DeliveryRecord): void {
    this.deliveries.push(record);
    const set = this.deliveredByGroup.get(record.group) ?? new Set<string>();
    set.add(record.id);
    this.deliveredByGroup.set(record.group, set);
  }

  // ---- after the faults ----

  /**
   * Decides each in-flight delivery of a killed consumer from the database: if
   * the group's delivery row is acked at the very attempt the dead consumer
   * held, its ack committed, so it counts as delivered there. Any other
   * outcome means the message had to come back to someone else.
   */
  async resolveInFlight(): Promise<void> {
    for (const f of this.inFlight) {
      if (f.resolved) continue;
      const [row] = await this.sql<{ state: number; attempts: number }>(
        `SELECT state, attempts FROM queue_deliveries
         WHERE consumer_group = ? AND topic = ? AND partition_key = ? AND seq = ?`,
        [f.group, f.topic, f.partitionKey, f.seq],
      );
      if (row) {
        const attempts = Number(row.attempts);
        if (attempts > f.attempt || Number(row.state) === 2) f.resolved = true;
        else if (Number(row.state) === 1 && attempts === f.attempt) {
          f.resolved = true;
          this.recordCommitted(f);
        }
        continue;
      }
      // Garbage collection took the row: only the watermark is left to say it finished.
      const [gp] = await this.sql<{ watermark: number }>(
        "SELECT watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ?",
        [f.group, f.topic, f.partitionKey],
      );
      if (gp && Number(gp.watermark) >= f.seq) {
        f.resolved = true;
        if (!this.deliveredByGroup.get(f.group)?.has(f.id)) this.recordCommitted(f);
      }
    }
  }

  /** A killed consumer's delivery whose ack committed before it died: delivered, though never printed. */
  private recordCommitted(f: InFlight): void {
    const { group, topic, partitionKey, id, seq, consumer, n } = f;
    this.recordDelivery({ group, topic, partitionKey, id, seq, consumer, n });
  }

  /**
   * Messages handed to the application more than once in a group although no
   * earlier hand-out ended in a refused ack (visibility timeout) or a kill:
   * after graceful stops alone this must be empty.
   */
  handedOutTwice(): string[] {
    const excused = new Set(this.inFlight.map((f) => `${f.group}\u0000${f.id}`));
    return [...this.handedOut]
      .filter(([k, n]) => n > 1 && !this.ackRefused.has(k) && !excused.has(k))
      .map(([k, n]) => `${k.replace("\u0000", ":")} ×${n}`);
  }

  /** Duplicates the kills can explain: one per delivery a killed consumer had in flight. */
  get allowedDuplicates(): number {
    return this.inFlight.length;
  }

  /** Unacknowledged publishes whose rows exist (looked up, since they may or may not). */
  private async refreshStoredUnacked(topics: string[]): Promise<void> {
    const unknown = [...this.unacked].filter((id) => !this.storedUnacked.has(id));
    for (let i = 0; i < unknown.length; i += 500) {
      const chunk = unknown.slice(i, i + 500);
      const rows = await this.sql<{ message_id: string }>(
        `SELECT message_id FROM queue_messages WHERE topic IN (?) AND message_id IN (?)`,
        [topics, chunk],
      );
      for (const r of rows) this.storedUnacked.add(r.message_id);
    }
  }

  private topics(): string[] {
    return [...new Set(this.publishes.map((p) => p.topic))];
  }

  private missing(groups: string[]): number {
    let missing = 0;
    const expected = [...this.acked, ...[...this.storedUnacked].filter((id) => !this.acked.has(id))];
    for (const g of groups) {
      const got = this.deliveredByGroup.get(g);
      for (const id of expected) if (!got?.has(id)) missing++;
    }
    return missing;
  }

  /**
   * After the faults: keeps every consumer slot not retired running (restarting
   * whatever is down) until each group has every expected message. A long soak
   * can leave a large backlog, so it gives up only when the count of missing
   * deliveries has not dropped for `stallMs` (well past the visibility timeout
   * and lease, so anything stranded had its chance to come back), or after
   * `maxMs` in all.
   */
  async drain(groups: string[], opts: { stallMs?: number; maxMs?: number } = {}): Promise<DrainResult> {
    const stallMs = opts.stallMs ?? 30_000;
    const started = Date.now();
    const deadline = started + (opts.maxMs ?? 20 * 60_000);
    const topics = this.topics();
    let lastReport = started;
    let best = Number.POSITIVE_INFINITY;
    let bestAt = started;
    for (;;) {
      for (const s of this.consumers()) if (!s.retired && !this.running(s)) await this.restart(s);
      await this.resolveInFlight();
      if (topics.length > 0) await this.refreshStoredUnacked(topics);
      const missing = this.missing(groups);
      const now = Date.now();
      if (missing < best) {
        best = missing;
        bestAt = now;
      }
      if (missing === 0 || now - bestAt > stallMs || now > deadline) {
        this.log(`drain ${missing === 0 ? "complete" : `gave up with ${missing} missing`} in ${now - started} ms`);
        if (missing > 0) for (const line of await this.describeBacklog(groups)) this.log(`  ${line}`);
        return { complete: missing === 0, missing, ms: now - started };
      }
      if (now - lastReport >= 5000) {
        lastReport = now;
        const worst = (await this.describeBacklog(groups)).slice(0, 3).join("; ");
        this.log(`draining: ${missing} (group, message) pairs still to deliver; most behind: ${worst}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The partitions furthest behind per group, with their lease and delivery state: the drain's diagnosis. */
  async describeBacklog(groups: string[], limit = 6): Promise<string[]> {
    const rows = await this.sql<{
      consumer_group: string;
      topic: string;
      partition_key: string;
      head_seq: number;
      watermark: number | null;
      lease_owner: string | null;
      lease_ms: number | null;
      n_out: number;
      n_acked: number;
    }>(
      `SELECT g.name AS consumer_group, p.topic, p.partition_key, p.head_seq, gp.watermark, gp.lease_owner,
              gp.lease_expires_at - ${NOW_MS_SQL} AS lease_ms,
              (SELECT COUNT(*) FROM queue_deliveries d WHERE d.consumer_group = g.name AND d.topic = p.topic
                 AND d.partition_key = p.partition_key AND d.state = 0 AND d.seq > COALESCE(gp.watermark, 0)) AS n_out,
              (SELECT COUNT(*) FROM queue_deliveries d WHERE d.consumer_group = g.name AND d.topic = p.topic
                 AND d.partition_key = p.partition_key AND d.state = 1 AND d.seq > COALESCE(gp.watermark, 0)) AS n_acked
       FROM queue_partitions p
       JOIN (${groups.map(() => "SELECT ? AS name").join(" UNION ALL ")}) g
       LEFT JOIN queue_group_partitions gp
         ON gp.consumer_group = g.name AND gp.topic = p.topic AND gp.partition_key = p.partition_key
       WHERE p.head_seq > COALESCE(gp.watermark, 0)
       ORDER BY p.head_seq - COALESCE(gp.watermark, 0) DESC LIMIT ${limit}`,
      groups,
    );
    return rows.map(
      (r) =>
        `${r.consumer_group}/${r.topic}/${r.partition_key}: watermark ${r.watermark ?? 0} of ${r.head_seq}, ` +
        `${r.n_out} out, ${r.n_acked} acked above it, lease ${r.lease_owner ? `${r.lease_owner.slice(0, 8)} ${r.lease_ms} ms` : "none"}`,
    );
  }

  /** Every message_id stored for the topics (read before any garbage collection). */
  async storedIds(topics = this.topics()): Promise<Set<string>> {
    if (topics.length === 0) return new Set();
    const rows = await this.sql<{ message_id: string }>("SELECT message_id FROM queue_messages WHERE topic IN (?)", [
      topics,
    ]);
    return new Set(rows.map((r) => r.message_id));
  }

  check(groups: string[], opts: { storedIds?: Set<string>; allowedDuplicates?: number } = {}): CheckResult {
    return check({
      publishes: this.publishes,
      deliveries: this.deliveries,
      groups,
      allowedDuplicates: opts.allowedDuplicates ?? this.allowedDuplicates,
      storedIds: opts.storedIds,
    });
  }

  /** The scenario's row of the soak table. */
  result(
    scenario: string,
    verdict: CheckResult,
    opts: { faults: number; startedAt: number; problems?: string[] },
  ): ScenarioResult {
    const problems = [...verdict.problems, ...this.problems, ...(opts.problems ?? [])];
    const sum = (k: "delivered" | "lost" | "unexpected" | "duplicated" | "orderViolations") =>
      verdict.groups.reduce((n, g) => n + g[k], 0);
    return {
      scenario,
      published: this.acked.size,
      delivered: sum("delivered"),
      lost: sum("lost"),
      unexpected: sum("unexpected"),
      duplicated: sum("duplicated"),
      orderViolations: sum("orderViolations"),
      allowedDuplicates: verdict.allowedDuplicates,
      faults: opts.faults,
      ok: verdict.ok && problems.length === 0,
      problems,
      durationMs: Date.now() - opts.startedAt,
    };
  }

  /** Kills whatever still runs and closes the pool; safe to call twice. */
  async close(): Promise<void> {
    await this.settle();
    const live = this.slots.map((s) => s.child).filter((c): c is Child => c?.running === true);
    for (const c of live) c.signal("SIGKILL");
    await Promise.all(live.map((c) => c.closed));
    const pool = this.poolHandle;
    this.poolHandle = undefined;
    await pool?.end();
  }
}

/** Follows one consumer incarnation's fetched lines until their outcome is printed. */
class FetchTracker {
  private readonly open = new Map<string, Omit<InFlight, "n" | "resolved">>();
  private lastN = 0;

  constructor(
    readonly group: string,
    readonly topic: string,
    readonly consumer: string,
  ) {}

  see(line: ChildLine): void {
    if (line.t === "fetched") {
      this.open.set(key(line), { ...line, group: this.group, topic: this.topic, consumer: this.consumer });
    } else if (line.t === "del") {
      this.open.delete(key(line));
      this.lastN = line.n;
    } else if (line.t === "ackfail") this.open.delete(key(line));
  }

  pending(): InFlight[] {
    return [...this.open.values()].map((f, i) => ({ ...f, n: this.lastN + 1 + i, resolved: false }));
  }
}

function key(l: { partitionKey: string; seq: number; attempt: number }): string {
  return `${l.partitionKey}\u0000${l.seq}\u0000${l.attempt}`;
}

// ---- scenario helpers ----

export function randomBetween(lo: number, hi: number): number {
  return lo + Math.random() * (hi - lo);
}

export function pick<T>(items: T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** The fault's timing: wait a (random) while before striking. Not a synchronization. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs a scenario body with a harness and always cleans up: a thrown error
 * becomes a failed result naming it rather than an unexplained crash.
 */
export async function withHarness(
  name: string,
  opts: ScenarioOptions,
  body: (h: Harness, startedAt: number) => Promise<ScenarioResult>,
): Promise<ScenarioResult> {
  const startedAt = Date.now();
  const h = new Harness(opts.databaseUrl, opts.log);
  try {
    return await body(h, startedAt);
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return {
      scenario: name,
      published: h.publishes.filter((p) => p.acked).length,
      delivered: h.deliveries.length,
      lost: 0,
      unexpected: 0,
      duplicated: 0,
      orderViolations: 0,
      allowedDuplicates: h.allowedDuplicates,
      faults: h.kills + h.terminations,
      ok: false,
      problems: [`scenario threw: ${message}`, ...h.problems],
      durationMs: Date.now() - startedAt,
    };
  } finally {
    await h.close();
  }
}
