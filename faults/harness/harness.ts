// The fault suite's one harness: a scenario's processes (processes.ts), what
// they recorded (ledger.ts), its database access, its background work and
// teardown, and the verdict. Every scenario runs inside `withHarness`, which
// always cleans up and turns a thrown error into a failed row naming it.
import type mysql from "mysql2/promise";
import { openUtcPool } from "@/db/client";
import { check } from "@/faults/checker";
import type { ChildLine } from "@/faults/proc/lines";
import type { CheckResult, PublishRecord, Scenario, ScenarioOptions, ScenarioResult } from "@/faults/types";
import type { SubscriptionInput } from "@/server/queue";
import { type DrainResult, drain } from "./drain";
import { Ledger } from "./ledger";
import { Processes, type Slot } from "./processes";
import { failedRow, type RowInput, resultRow } from "./result";
import { type DbAdmin, openDbAdmin } from "./server";

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

export interface HarnessOptions {
  /** Subscription options every consumer starts from; its own go over them. Default FAST_SUBSCRIPTION. */
  subscription?: Partial<SubscriptionInput>;
  /** How long a SIGTERMed process may take to exit before it is killed and reported, ms. Default 20 000. */
  stopGraceMs?: number;
}

export class Harness {
  readonly ledger = new Ledger();
  readonly procs: Processes;
  /** Failures the scenario did not cause on purpose: crashed processes, refused stops, failed background work. */
  readonly problems: string[] = [];
  readonly startedAt = Date.now();
  private readonly listeners = new Set<(line: ChildLine, slot: Slot) => void>();
  private readonly teardown: Array<() => Promise<unknown> | unknown> = [];
  private poolHandle?: mysql.Pool;
  private adminHandle?: Promise<DbAdmin>;

  constructor(
    readonly name: string,
    readonly url: string,
    private readonly logLine: (line: string) => void = () => {},
    options: HarnessOptions = {},
  ) {
    this.procs = new Processes({
      url,
      ledger: this.ledger,
      problems: this.problems,
      log: (line) => this.log(line),
      heard: (line, slot) => {
        for (const l of this.listeners) l(line, slot);
      },
      subscription: options.subscription ?? FAST_SUBSCRIPTION,
      stopGraceMs: options.stopGraceMs ?? 20_000,
    });
  }

  log(line: string): void {
    this.logLine(line);
  }

  /** Every protocol line of every process, for what a scenario counts beyond the ledger. */
  onLine(listener: (line: ChildLine, slot: Slot) => void): void {
    this.listeners.add(listener);
  }

  /** Run at close, last registered first, after every process is gone. */
  onClose(fn: () => Promise<unknown> | unknown): void {
    this.teardown.push(fn);
  }

  /** A statement on a pool in the scenario's database (its connections show in that database's PROCESSLIST). */
  async sql<T = Record<string, unknown>>(statement: string, params: unknown[] = []): Promise<T[]> {
    this.poolHandle ??= openUtcPool(this.url, { connectionLimit: 3 });
    const [rows] = await this.poolHandle.query(statement, params);
    return rows as T[];
  }

  /** The connection outside the scenario's database (see server.ts). */
  admin(): Promise<DbAdmin> {
    this.adminHandle ??= openDbAdmin(this.url);
    return this.adminHandle;
  }

  /** Every message_id stored for the topics (read before any garbage collection). */
  async storedIds(topics = this.ledger.topics()): Promise<Set<string>> {
    if (topics.length === 0) return new Set();
    const admin = await this.admin();
    const rows = await admin.query<{ message_id: string }>(
      `SELECT message_id FROM \`${admin.database}\`.queue_messages WHERE topic IN (?)`,
      [topics],
    );
    return new Set(rows.map((r) => r.message_id));
  }

  drain(groups: string[], opts?: { stallMs?: number; maxMs?: number }): Promise<DrainResult> {
    return drain(this, groups, opts);
  }

  /** After the faults: waits for the restarts under way, stops the publishers gracefully and drains. */
  async endTraffic(groups: string[]): Promise<DrainResult> {
    await this.procs.settle();
    await this.procs.stopPublishers();
    return this.drain(groups);
  }

  /** The checker over the ledger; by default the duplicates allowed are the kills' in-flight deliveries. */
  check(
    groups: string[],
    opts: { storedIds?: Set<string>; allowedDuplicates?: number; only?: (p: PublishRecord) => boolean } = {},
  ): CheckResult {
    const { publishes, deliveries, inFlight } = this.ledger;
    return check({
      publishes: opts.only ? publishes.filter(opts.only) : publishes,
      deliveries,
      groups,
      allowedDuplicates: opts.allowedDuplicates ?? inFlight.length,
      storedIds: opts.storedIds,
    });
  }

  /** The scenario's row of the soak table; the harness's own problems fail it too. */
  result(
    verdicts: CheckResult | CheckResult[],
    opts: Partial<Omit<RowInput, "scenario" | "startedAt" | "verdicts">> & { faults: number },
  ): ScenarioResult {
    return resultRow({
      scenario: this.name,
      startedAt: this.startedAt,
      verdicts: Array.isArray(verdicts) ? verdicts : [verdicts],
      published: opts.published ?? this.ledger.acked.size,
      counts: opts.counts,
      allowedDuplicates: opts.allowedDuplicates,
      faults: opts.faults,
      problems: [...this.problems, ...(opts.problems ?? [])],
    });
  }

  /** Kills whatever still runs, then tears down what the scenario registered and the connections; safe to call twice. */
  async close(): Promise<void> {
    await this.procs.closeAll();
    let first: unknown;
    for (const fn of this.teardown.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        first ??= err;
      }
    }
    const pool = this.poolHandle;
    this.poolHandle = undefined;
    await pool?.end();
    const admin = this.adminHandle;
    this.adminHandle = undefined;
    // One that never connected has nothing to close; whoever asked for it got the error.
    await (await admin?.catch(() => undefined))?.close();
    if (first !== undefined) throw first;
  }
}

/** Runs a scenario body with a harness and always cleans up. */
export async function withHarness(
  name: string,
  opts: ScenarioOptions,
  body: (h: Harness) => Promise<ScenarioResult>,
  options?: HarnessOptions,
): Promise<ScenarioResult> {
  const h = new Harness(name, opts.databaseUrl, opts.log, options);
  try {
    return await body(h);
  } catch (err) {
    return failedRow(name, "scenario threw", err, {
      startedAt: h.startedAt,
      published: h.ledger.acked.size,
      delivered: h.ledger.deliveries.length,
      allowedDuplicates: h.ledger.inFlight.length,
      faults: h.procs.kills + h.procs.terminations,
      problems: h.problems,
    });
  } finally {
    await h.close();
  }
}

/** A scenario whose body runs inside `withHarness`, with the harness options it needs. */
export function faultScenario(spec: {
  name: string;
  title: string;
  options?: HarnessOptions;
  run(h: Harness, opts: ScenarioOptions): Promise<ScenarioResult>;
}): Scenario {
  return {
    name: spec.name,
    title: spec.title,
    run: (opts) => withHarness(spec.name, opts, (h) => spec.run(h, opts), spec.options),
  };
}
