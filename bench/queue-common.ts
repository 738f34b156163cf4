// What the queue bench's sections share: settings (scaled by BENCH_QUICK),
// the database clock, message shapes, the 10-handler consumer, deadlines and
// number formats. No side effects: the worker and publisher children import it too.
import type mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import type { Delivery, Message, Subscription } from "@/server/queue";
import { parseSubscriptionOptions } from "@/server/queue/options";
import { percentile, queryOne, sleep } from "./lib";

/** BENCH_QUICK=1: counts 10× smaller, windows and deadlines shorter. A smoke test, not a measurement. */
export const QUICK = ["1", "true", "yes"].includes((process.env.BENCH_QUICK ?? "").toLowerCase());
const n = (full: number) => (QUICK ? Math.max(1, Math.round(full / 10)) : full);
const t = (fullMs: number, quickMs: number) => (QUICK ? quickMs : fullMs);

export const SETTINGS = {
  server: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/",
  payloadBytes: 100,
  /** Partition keys of the publish, process, latency and publishAfter sections. */
  partitions: 16,
  /** Concurrent handlers per subscription (deliveries outstanding at once). */
  handlers: 10,
  /** Raw MariaDB: durable single-row commits, each connection count for this long. */
  rawCommitWindowMs: t(3_000, 1_000),
  rawCommitConnections: [1, 4],
  singleCount: n(5_000),
  batchCount: n(20_000),
  /** Messages per publish() call. */
  publishBatch: 1_000,
  /** Rows per raw INSERT statement, the batch publish's baseline. */
  rawBatchRows: 100,
  publishDeadlineMs: t(30_000, 10_000),
  processCount: n(10_000),
  workerCounts: [2, 4],
  processDeadlineMs: t(40_000, 15_000),
  onePartitionCount: n(10_000),
  onePartitionDeadlineMs: t(30_000, 10_000),
  backlogShallow: n(1_000),
  backlogDeep: n(100_000),
  /** Each backlog case is measured over its first min(all, this) of processing. */
  backlogWindowMs: t(20_000, 5_000),
  /** Pre-publishing the deep backlog stops here; the depth reached is what is measured. */
  backlogPublishDeadlineMs: t(60_000, 20_000),
  latencyRatePerSec: 50,
  latencyDurationMs: t(10_000, 3_000),
  delayedCount: n(200),
  delayMs: 2_000,
  idleWindowMs: t(5_000, 2_000),
  idleWidePartitions: n(1_000),
  /** How long to wait for deliveries once the last one should be visible. */
  drainTimeoutMs: t(15_000, 8_000),
  /** How long a child process may take to load tsx and the queue and say it is ready. */
  childReadyTimeoutMs: 45_000,
  /** How long a child may take to close its subscription and exit before it is killed. */
  childStopTimeoutMs: 20_000,
} as const;

/** BENCH_ONLY=process,latency,…: run only these sections (names in SECTIONS of queue.ts). */
export const ONLY = new Set(
  (process.env.BENCH_ONLY ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

/** Every subscription here runs on the library's defaults; read them back for the header. */
export const SUBSCRIBER_DEFAULTS = parseSubscriptionOptions({ subscriberName: "bench", consumerGroup: "bench" });

/** The one consumer group every bench subscription joins. */
export const GROUP = "bench";

export const PAYLOAD = Buffer.alloc(SETTINGS.payloadBytes, "x");

/** Library misbehaviour seen during the run: printed at the end, and the exit code is 1. */
export const problems: string[] = [];

/** Records a problem, and says it at once (stderr), so an interrupted run still shows it. */
export function problem(text: string) {
  problems.push(text);
  console.error(`  ! ${text}`);
}

// ---------------------------------------------------------------- clock

export interface DbClock {
  /** DB clock minus Date.now(), ms. */
  offsetMs: number;
  /** How far off the offset may be: half the best round trip plus ms rounding on both sides. */
  uncertaintyMs: number;
  now(): number;
}

/** Brackets a read of the DB clock with Date.now() and keeps the tightest of a few tries. */
export async function measureClock(pool: mysql.Pool): Promise<DbClock> {
  let best = { rttMs: Number.POSITIVE_INFINITY, offsetMs: 0 };
  for (let i = 0; i < 10; i++) {
    const before = Date.now();
    const row = await queryOne<{ now_ms: number | string }>(pool, `SELECT ${NOW_MS_SQL} AS now_ms`);
    const after = Date.now();
    if (after - before < best.rttMs) {
      best = { rttMs: after - before, offsetMs: Number(row?.now_ms) - (before + after) / 2 };
    }
  }
  const offsetMs = best.offsetMs;
  return { offsetMs, uncertaintyMs: best.rttMs / 2 + 2, now: () => Date.now() + offsetMs };
}

/** Wall-clock ms with sub-ms resolution, comparable between the bench and its children. */
export const wallNow = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- helpers

export function message(prefix: string, i: number, partitions: number, metadata?: Record<string, string>): Message {
  return { id: `${prefix}-${i}`, partitionKey: `p${i % partitions}`, payload: PAYLOAD, metadata };
}

export async function timeSeconds(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

export function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Sends `total` items in sequential chunks of `size` until done or `deadline`
 * (a performance.now() value); returns how many were sent.
 */
export async function inChunks(
  total: number,
  size: number,
  send: (from: number, count: number) => Promise<void>,
  deadline = Number.POSITIVE_INFINITY,
): Promise<number> {
  let from = 0;
  while (from < total && performance.now() < deadline) {
    const count = Math.min(size, total - from);
    await send(from, count);
    from += count;
  }
  return from;
}

export function subscriptionFor(name: string) {
  return { subscriberName: `bench-${name}`, consumerGroup: GROUP };
}

/** Server-wide InnoDB fsyncs so far (data and log): durable commits cost one each, less with group commit. */
export async function serverFsyncs(pool: mysql.Pool): Promise<number> {
  const row = await queryOne<{ Value: string }>(pool, "SHOW GLOBAL STATUS LIKE 'Innodb_data_fsyncs'");
  return Number(row?.Value ?? Number.NaN);
}

// ---------------------------------------------------------------- the consumer

/**
 * One subscription worked by `concurrency` handlers: each calls the iterator's
 * next(), runs `onDelivery` (the no-op handler by default) and acks, so up to
 * `concurrency` deliveries are outstanding at once. Acks are counted once per
 * message (topic, partition key, id); a second ack of the same message is a duplicate.
 */
export interface Handlers {
  /** Distinct messages acked. */
  acked(): number;
  duplicates(): number;
  /** performance.now() when the last ack resolved (0: none yet). */
  lastAckAt(): number;
  /** The first error a handler met (next, onDelivery or ack); the other handlers go on. */
  error(): unknown;
  /** Resolves true once `count` distinct messages are acked, false at `deadline` (performance.now()) or on an error. */
  until(count: number, deadline: number): Promise<boolean>;
  /** Keys acked since the last call (for a child's progress reports). */
  takeNewKeys(): string[];
  /** Closes the subscription and waits for the handlers to end. */
  stop(): Promise<void>;
}

export function startHandlers(
  sub: Subscription,
  concurrency: number,
  onDelivery?: (d: Delivery) => void | Promise<void>,
): Handlers {
  const iterator = sub[Symbol.asyncIterator]();
  const seen = new Set<string>();
  let fresh: string[] = [];
  let duplicates = 0;
  let last = 0;
  let failure: unknown;
  let waiter: { count: number; resolve: (ok: boolean) => void } | undefined;
  const settleWaiter = (ok: boolean) => {
    const w = waiter;
    waiter = undefined;
    w?.resolve(ok);
  };
  const handler = async () => {
    for (;;) {
      const r = await iterator.next();
      if (r.done) return;
      const d = r.value;
      await onDelivery?.(d);
      await d.ack();
      last = performance.now();
      const key = `${d.topic}\u0000${d.message.partitionKey}\u0000${d.message.id}`;
      if (seen.has(key)) duplicates++;
      else {
        seen.add(key);
        fresh.push(key);
      }
      if (waiter && seen.size >= waiter.count) settleWaiter(true);
    }
  };
  const loops = Array.from({ length: concurrency }, () =>
    handler().catch((err: unknown) => {
      // Kept, not thrown: an unhandled rejection would skip dropping the database.
      failure ??= err;
      settleWaiter(false);
    }),
  );
  return {
    acked: () => seen.size,
    duplicates: () => duplicates,
    lastAckAt: () => last,
    error: () => failure,
    until(count, deadline) {
      if (seen.size >= count) return Promise.resolve(true);
      if (failure !== undefined) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => settleWaiter(false), Math.max(0, deadline - performance.now()));
        waiter = {
          count,
          resolve: (ok) => {
            clearTimeout(timer);
            resolve(ok);
          },
        };
      });
    },
    takeNewKeys() {
      const out = fresh;
      fresh = [];
      return out;
    },
    async stop() {
      await sub.close();
      await Promise.all(loops);
    },
  };
}

/** Polls until `done()` or the timeout; false on timeout. */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await done()) return true;
    await sleep(20);
  }
  return done();
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === "string" ? ` ${code}` : ""}: ${err.message}`;
  }
  return String(err);
}

// ---------------------------------------------------------------- numbers

export const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "—");
export const ms1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
export const fix2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "—");
export const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : "—");
export const secs = (ms: number) => `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
