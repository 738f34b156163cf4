// Queue benchmark: publish rate against raw INSERTs, end-to-end latency,
// publishAfter lateness, and the idle query rate of a subscriber. Everything
// runs in one process against one throwaway database, which is dropped at the
// end, also on error or Ctrl-C.
//
//   npm run bench:queue      (BENCH_MYSQL_URL overrides mysql://root@127.0.0.1:3306/)
import { createHash } from "node:crypto";
import type mysql from "mysql2/promise";
import { createQueue, type Delivery, type Message, type Queue, type Subscription } from "../server/queue";
import { parseSubscriptionOptions } from "../server/queue/options";
import { type BenchDatabase, createBenchDatabase, dropOnSignal, percentile, printTable, queryOne, sleep } from "./lib";

const SETTINGS = {
  server: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/",
  payloadBytes: 100,
  partitions: 50,
  singleCount: 2_000,
  batchCount: 20_000,
  batchSize: 100,
  latencyRatePerSec: 100,
  latencyDurationMs: 10_000,
  delayedCount: 200,
  delayMinMs: 500,
  delayMaxMs: 3_000,
  idleWindowMs: 5_000,
  idleWidePartitions: 1_000,
  /** How long to wait for deliveries once the last one should be visible. */
  drainTimeoutMs: 15_000,
} as const;

/** Every subscription here runs on the library's defaults; read them back for the header. */
const SUBSCRIBER_DEFAULTS = parseSubscriptionOptions({ subscriberName: "bench", consumerGroup: "bench" });

/** The database clock in ms, the same expression the queue uses for published_at. */
const DB_NOW_MS = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED)";

/** The one consumer group every bench subscription joins. */
const GROUP = "bench";

const PAYLOAD = Buffer.alloc(SETTINGS.payloadBytes, "x");

/** Library misbehaviour seen during the run: printed at the end, and the exit code is 1. */
const problems: string[] = [];

// ---------------------------------------------------------------- clock

interface DbClock {
  /** DB clock minus Date.now(), ms. */
  offsetMs: number;
  /** How far off the offset may be: half the best round trip plus ms rounding on both sides. */
  uncertaintyMs: number;
  now(): number;
}

/** Brackets a read of the DB clock with Date.now() and keeps the tightest of a few tries. */
async function measureClock(pool: mysql.Pool): Promise<DbClock> {
  let best = { rttMs: Number.POSITIVE_INFINITY, offsetMs: 0 };
  for (let i = 0; i < 10; i++) {
    const before = Date.now();
    const row = await queryOne<{ now_ms: number | string }>(pool, `SELECT ${DB_NOW_MS} AS now_ms`);
    const after = Date.now();
    if (after - before < best.rttMs) {
      best = { rttMs: after - before, offsetMs: Number(row?.now_ms) - (before + after) / 2 };
    }
  }
  const offsetMs = best.offsetMs;
  return { offsetMs, uncertaintyMs: best.rttMs / 2 + 2, now: () => Date.now() + offsetMs };
}

// ---------------------------------------------------------------- helpers

function message(prefix: string, i: number, partitions: number, metadata?: Record<string, string>): Message {
  return { id: `${prefix}-${i}`, partitionKey: `p${i % partitions}`, payload: PAYLOAD, metadata };
}

async function timeSeconds(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/** A subscription iterated in the background; each delivery is handed to `onDelivery`, then acked. */
interface Consumer {
  received(): number;
  /** Closes the subscription and waits for the loop; rethrows what the loop met. */
  stop(): Promise<void>;
  /** The error the loop ended with, if any. */
  error(): unknown;
}

function startConsumer(sub: Subscription, onDelivery: (d: Delivery) => void | Promise<void>): Consumer {
  let count = 0;
  let failure: unknown;
  const loop = (async () => {
    for await (const d of sub) {
      count++;
      await onDelivery(d);
      await d.ack();
    }
  })().catch((err: unknown) => {
    // Kept, not thrown: an unhandled rejection would skip dropping the database.
    failure = err;
  });
  return {
    received: () => count,
    error: () => failure,
    async stop() {
      await sub.close();
      await loop;
      if (failure) throw failure;
    },
  };
}

/** Polls until `done()` or the deadline; false on timeout. A failed consumer ends the wait with its error. */
async function waitFor(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  consumer?: Consumer,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (consumer?.error()) throw consumer.error();
    if (await done()) return true;
    await sleep(20);
  }
  return done();
}

function subscriptionFor(name: string) {
  return { subscriberName: `bench-${name}`, consumerGroup: GROUP };
}

// ---------------------------------------------------------------- 1. publish rate

interface RateRow {
  label: string;
  count: number;
  seconds: number;
  /** The raw row this one is compared with. */
  baseline?: RateRow;
}

const RAW_COLUMNS = "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after";

/** One bench_raw row's values, shaped like a queue_messages row for the same message. */
function rawRow(topic: string, i: number): { sql: string; params: unknown[] } {
  const partitionKey = `p${i % SETTINGS.partitions}`;
  const id = `${topic}-${i}`;
  const dedupKey = createHash("sha256").update(`${topic}:${partitionKey}:${id}`).digest();
  const seq = Math.floor(i / SETTINGS.partitions) + 1;
  return {
    sql: `(?, ?, ?, ?, ?, ?, NULL, ${DB_NOW_MS}, 0)`,
    params: [topic, partitionKey, seq, id, dedupKey, PAYLOAD],
  };
}

async function rawInsert(pool: mysql.Pool, topic: string, from: number, count: number) {
  const rows = Array.from({ length: count }, (_, k) => rawRow(topic, from + k));
  await pool.query(
    `INSERT INTO bench_raw (${RAW_COLUMNS}) VALUES ${rows.map((r) => r.sql).join(", ")}`,
    rows.flatMap((r) => r.params),
  );
}

/** Sends `total` items in sequential chunks of `size`. */
async function inChunks(total: number, size: number, send: (from: number, count: number) => Promise<void>) {
  for (let from = 0; from < total; from += size) await send(from, Math.min(size, total - from));
}

async function benchPublish(db: BenchDatabase): Promise<RateRow[]> {
  const { singleCount, batchCount, batchSize, partitions } = SETTINGS;
  // Same columns, indexes and collation as the log, without the queue's bookkeeping around it.
  await db.raw.query("CREATE TABLE bench_raw LIKE queue_messages");
  const queue = createQueue({ url: db.url });
  try {
    const publishOne = (from: number) =>
      queue.publisher.publish("bench.publish.single", message("s", from, partitions));
    const publishMany = (from: number, count: number) =>
      queue.publisher.publish(
        "bench.publish.batch",
        Array.from({ length: count }, (_, k) => message("b", from + k, partitions)),
      );

    const rawSingle = {
      label: "raw INSERT, 1 row, autocommit",
      count: singleCount,
      seconds: await timeSeconds(() => inChunks(singleCount, 1, (f, n) => rawInsert(db.raw, "raw.single", f, n))),
    };
    const single = {
      label: "publish(), 1 message per call",
      count: singleCount,
      seconds: await timeSeconds(() => inChunks(singleCount, 1, publishOne)),
      baseline: rawSingle,
    };
    const rawBatch = {
      label: `raw INSERT, ${batchSize} rows per statement`,
      count: batchCount,
      seconds: await timeSeconds(() => inChunks(batchCount, batchSize, (f, n) => rawInsert(db.raw, "raw.batch", f, n))),
    };
    const batch = {
      label: `publish(), ${batchSize} messages per call`,
      count: batchCount,
      seconds: await timeSeconds(() => inChunks(batchCount, batchSize, publishMany)),
      baseline: rawBatch,
    };
    return [rawSingle, single, rawBatch, batch];
  } finally {
    await queue.close();
  }
}

// ---------------------------------------------------------------- 2. end-to-end latency

interface LatencyResult {
  published: number;
  delivered: number;
  achievedRate: number;
  latencies: number[];
}

/** Publishes `count` messages on a fixed schedule; a late publish does not push back the ones after it. */
async function publishAtRate(queue: Queue, topic: string, count: number, ratePerSec: number): Promise<number> {
  const intervalMs = 1000 / ratePerSec;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    await queue.publisher.publish(topic, message("l", i, SETTINGS.partitions));
  }
  return (performance.now() - start) / 1000;
}

async function benchLatency(db: BenchDatabase, clock: DbClock): Promise<LatencyResult> {
  const topic = "bench.latency";
  const count = Math.round((SETTINGS.latencyRatePerSec * SETTINGS.latencyDurationMs) / 1000);
  // Separate instances, so publisher and subscriber share no pool: as in production.
  const publisherQueue = createQueue({ url: db.url });
  const subscriberQueue = createQueue({ url: db.url });
  try {
    const latencies: number[] = [];
    const consumer = startConsumer(subscriberQueue.subscriber.subscribe(topic, subscriptionFor("latency")), (d) => {
      latencies.push(clock.now() - d.message.publishedAt);
    });
    // Let the subscriber register and start polling before the clock starts.
    await sleep(300);
    const seconds = await publishAtRate(publisherQueue, topic, count, SETTINGS.latencyRatePerSec);
    await waitFor(() => consumer.received() >= count, SETTINGS.drainTimeoutMs, consumer);
    await consumer.stop();
    return { published: count, delivered: latencies.length, achievedRate: count / seconds, latencies };
  } finally {
    await Promise.all([publisherQueue.close(), subscriberQueue.close()]);
  }
}

// ---------------------------------------------------------------- 3. publishAfter lateness

interface DelayedResult {
  published: number;
  delivered: number;
  lateness: number[];
  /** Received before the intended visible time on the (offset-corrected) clock. */
  earlyAtReceipt: number;
  /** Fetched before visible_after, both read on the database clock: exact. */
  earlyAtFetch: number;
  /** Deliveries whose fetch time could not be read (schema changed?). */
  fetchUnknown: number;
}

/** Delays spread evenly over [min, max], in a fixed shuffled order so partitions see them out of order. */
function spreadDelays(count: number): number[] {
  const { delayMinMs: min, delayMaxMs: max } = SETTINGS;
  const delays = Array.from({ length: count }, (_, i) => Math.round(min + ((max - min) * i) / Math.max(1, count - 1)));
  let seed = 42;
  for (let i = delays.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [delays[i], delays[j]] = [delays[j] as number, delays[i] as number];
  }
  return delays;
}

/**
 * Whether the delivery was fetched before its row was visible, compared on the
 * database clock alone (the delivery row's first_delivered_at against the log
 * row's visible_after). Must run before the ack, which may delete the delivery
 * row. Undefined when the rows are not found.
 */
async function fetchedEarly(pool: mysql.Pool, d: Delivery): Promise<boolean | undefined> {
  const row = await queryOne<{ early: number }>(
    pool,
    `SELECT d.first_delivered_at < m.visible_after AS early
     FROM queue_messages m
     JOIN queue_deliveries d
       ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     WHERE m.topic = ? AND m.partition_key = ? AND m.message_id = ?`,
    [GROUP, d.topic, d.message.partitionKey, d.message.id],
  );
  return row === undefined ? undefined : Number(row.early) === 1;
}

async function recordDelayed(result: DelayedResult, d: Delivery, clock: DbClock, pool: mysql.Pool) {
  const visibleAt = d.message.publishedAt + Number(d.message.metadata.delayMs);
  const lateness = clock.now() - visibleAt;
  result.lateness.push(lateness);
  // Within the clock's uncertainty a negative lateness is measurement noise, not an early delivery.
  if (lateness < -clock.uncertaintyMs) result.earlyAtReceipt++;
  const early = await fetchedEarly(pool, d);
  if (early === undefined) result.fetchUnknown++;
  else if (early) result.earlyAtFetch++;
}

async function benchDelayed(db: BenchDatabase, clock: DbClock): Promise<DelayedResult> {
  const topic = "bench.delayed";
  const delays = spreadDelays(SETTINGS.delayedCount);
  const publisherQueue = createQueue({ url: db.url });
  const subscriberQueue = createQueue({ url: db.url });
  try {
    const result: DelayedResult = {
      published: delays.length,
      delivered: 0,
      lateness: [],
      earlyAtReceipt: 0,
      earlyAtFetch: 0,
      fetchUnknown: 0,
    };
    const sub = subscriberQueue.subscriber.subscribe(topic, subscriptionFor("delayed"));
    const consumer = startConsumer(sub, (d) => recordDelayed(result, d, clock, db.raw));
    await sleep(300);
    for (const [i, delayMs] of delays.entries()) {
      const msg = message("d", i, SETTINGS.partitions, { delayMs: String(delayMs) });
      await publisherQueue.publisher.publishAfter(topic, msg, delayMs);
    }
    await waitFor(() => consumer.received() >= delays.length, SETTINGS.delayMaxMs + SETTINGS.drainTimeoutMs, consumer);
    await consumer.stop();
    result.delivered = result.lateness.length;
    return result;
  } finally {
    await Promise.all([publisherQueue.close(), subscriberQueue.close()]);
  }
}

// ---------------------------------------------------------------- 4. idle query rate

interface IdleResult {
  partitions: number;
  delivered: number;
  leasesHeld: number;
  statements: number;
  seconds: number;
}

async function leasesHeld(pool: mysql.Pool, topic: string): Promise<number> {
  const row = await queryOne<{ n: number }>(
    pool,
    "SELECT COUNT(*) AS n FROM queue_group_partitions WHERE topic = ? AND lease_owner IS NOT NULL",
    [topic],
  );
  return Number(row?.n ?? 0);
}

/**
 * Drains one message from each of `partitions` partitions with one subscriber,
 * then counts the statements that subscriber's queue sends while idle. A fresh
 * queue per measurement keeps the counter to this subscriber alone.
 */
async function measureIdle(db: BenchDatabase, partitions: number): Promise<IdleResult> {
  const topic = `bench.idle.${partitions}`;
  const queue = createQueue({ url: db.url });
  try {
    await inChunks(partitions, SETTINGS.batchSize, (from, count) =>
      queue.publisher.publish(
        topic,
        Array.from({ length: count }, (_, k) => message("i", from + k, partitions)),
      ),
    );
    const consumer = startConsumer(queue.subscriber.subscribe(topic, subscriptionFor(`idle-${partitions}`)), () => {});
    await waitFor(() => consumer.received() >= partitions, SETTINGS.drainTimeoutMs, consumer);
    // A drained partition gives its lease back on the poll after its last ack; wait for that.
    await waitFor(async () => (await leasesHeld(db.raw, topic)) === 0, 5_000, consumer);
    const result = { partitions, delivered: consumer.received(), leasesHeld: await leasesHeld(db.raw, topic) };
    // Includes whatever the subscriber sends in the window: polls, and a heartbeat
    // (3 statements) if one falls due; both are the idle cost being measured.
    const before = queue.statementCount();
    const seconds = await timeSeconds(() => sleep(SETTINGS.idleWindowMs));
    const statements = queue.statementCount() - before;
    await consumer.stop();
    return { ...result, statements, seconds };
  } finally {
    await queue.close();
  }
}

// ---------------------------------------------------------------- report

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms1 = (n: number) => n.toFixed(1);

function printHeader(db: BenchDatabase, mariadb: string, clock: DbClock) {
  const s = SETTINGS;
  console.log("Sluice queue benchmark");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  database    ${mariadb}, ${db.name} (fresh, dropped at the end)`);
  console.log(`  clock       DB − Date.now() = ${ms1(clock.offsetMs)} ms (±${ms1(clock.uncertaintyMs)} ms)`);
  console.log(`  messages    ${s.payloadBytes} B payload, ${s.partitions} partition keys`);
  console.log(`  publish     ${int(s.singleCount)} single, ${int(s.batchCount)} in batches of ${s.batchSize}`);
  console.log(`  latency     ${s.latencyRatePerSec} msg/s for ${s.latencyDurationMs / 1000} s`);
  console.log(`  delayed     ${s.delayedCount} publishAfter, delays ${s.delayMinMs}–${s.delayMaxMs} ms`);
  console.log(`  idle        ${s.idleWindowMs / 1000} s window, 1 vs ${int(s.idleWidePartitions)} drained partitions`);
  const d = SUBSCRIBER_DEFAULTS;
  console.log(`  subscriber  defaults: pollIntervalMs ${d.pollIntervalMs}, batchSize ${d.batchSize},`);
  console.log(`              leaseRenewalIntervalMs ${d.leaseRenewalIntervalMs}, leaseDurationMs ${d.leaseDurationMs}`);
  console.log("  instances   latency/delayed: publisher and subscriber on separate Queue instances");
}

function printPublish(rows: RateRow[]) {
  printTable(
    "1. Publish rate",
    ["", "messages", "seconds", "msg/s", "vs raw"],
    rows.map((r) => {
      const rate = r.count / r.seconds;
      const ratio = r.baseline ? `${(rate / (r.baseline.count / r.baseline.seconds)).toFixed(2)}×` : "base";
      return [r.label, int(r.count), r.seconds.toFixed(2), int(rate), ratio];
    }),
  );
}

function printLatency(r: LatencyResult) {
  const s = summarize(r.latencies);
  printTable(
    `2. End-to-end latency (publish → receipt, pollIntervalMs ${SUBSCRIBER_DEFAULTS.pollIntervalMs})`,
    ["", "published", "delivered", "rate msg/s", "p50 ms", "p99 ms", "max ms"],
    [["steady publish", int(r.published), int(r.delivered), ms1(r.achievedRate), ms1(s.p50), ms1(s.p99), ms1(s.max)]],
  );
  if (r.delivered < r.published) {
    const missing = r.published - r.delivered;
    problems.push(`latency: ${missing} of ${r.published} messages not delivered within ${SETTINGS.drainTimeoutMs} ms`);
  }
}

function printDelayed(r: DelayedResult, clock: DbClock) {
  const s = summarize(r.lateness);
  printTable(
    "3. publishAfter lateness (receipt − (publishedAt + delay))",
    ["", "published", "delivered", "p50 ms", "p99 ms", "max ms", "min ms"],
    [["publishAfter", int(r.published), int(r.delivered), ms1(s.p50), ms1(s.p99), ms1(s.max), ms1(s.min)]],
  );
  console.log(`   EARLY deliveries at receipt (lateness < −${ms1(clock.uncertaintyMs)} ms): ${r.earlyAtReceipt}`);
  console.log(`   EARLY deliveries at fetch (first_delivered_at < visible_after, DB clock): ${r.earlyAtFetch}`);
  if (r.fetchUnknown > 0) console.log(`   (fetch time not found for ${r.fetchUnknown} deliveries)`);
  if (r.earlyAtReceipt > 0 || r.earlyAtFetch > 0) {
    problems.push(`publishAfter: early deliveries (${r.earlyAtReceipt} at receipt, ${r.earlyAtFetch} at fetch)`);
  }
  if (r.delivered < r.published) {
    problems.push(`publishAfter: ${r.published - r.delivered} of ${r.published} delayed messages not delivered`);
  }
}

function printIdle(narrow: IdleResult, wide: IdleResult) {
  const rate = (r: IdleResult) => r.statements / r.seconds;
  printTable(
    `4. Idle statements per second (one subscriber, ${SETTINGS.idleWindowMs / 1000} s window after draining)`,
    ["drained partitions", "delivered", "leases held", "statements", "statements/s"],
    [narrow, wide].map((r) => [
      int(r.partitions),
      int(r.delivered),
      int(r.leasesHeld),
      int(r.statements),
      ms1(rate(r)),
    ]),
  );
  console.log(`   ratio ${int(wide.partitions)} : 1 partitions = ${(rate(wide) / rate(narrow)).toFixed(2)}×`);
  for (const r of [narrow, wide]) {
    const of = `of ${r.partitions} drained partitions`;
    if (r.delivered < r.partitions) problems.push(`idle: ${r.partitions - r.delivered} messages ${of} not delivered`);
    if (r.leasesHeld > 0) problems.push(`idle: ${r.leasesHeld} leases ${of} still held after 5 s`);
  }
}

// ---------------------------------------------------------------- main

async function run(db: BenchDatabase) {
  const version = await queryOne<{ v: string }>(db.raw, "SELECT VERSION() AS v");
  const clock = await measureClock(db.raw);
  printHeader(db, version?.v ?? "unknown", clock);
  printPublish(await benchPublish(db));
  printLatency(await benchLatency(db, clock));
  printDelayed(await benchDelayed(db, clock), clock);
  printIdle(await measureIdle(db, 1), await measureIdle(db, SETTINGS.idleWidePartitions));
}

async function main() {
  const started = performance.now();
  const db = await createBenchDatabase(SETTINGS.server, `sluice_bench_${process.pid}`, 4);
  const dropOnce = dropOnSignal(db);
  try {
    await run(db);
  } finally {
    await dropOnce();
  }
  console.log(`\nProblems: ${problems.length === 0 ? "none" : ""}`);
  for (const p of problems) console.log(`  - ${p}`);
  console.log(`Total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
