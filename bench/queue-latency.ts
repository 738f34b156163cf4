// Latency: publish → receipt at 50 msg/s with the publisher in another process
// (bench/queue-publisher.ts: no in-process wake-up, the production shape) and
// with publisher and subscriber on the same Queue instance (the publish wakes
// the subscriber); and publishAfter lateness, published from another Queue
// instance, with early deliveries checked on the database clock. Latency is
// receipt time minus message.publishedAt, both on the database clock.
import type mysql from "mysql2/promise";
import { createQueue, type Delivery, type Queue } from "@/server/queue";
import { type BenchDatabase, printTable, queryOne, sleep } from "./lib";
import { BenchChild, type PublisherConfig } from "./queue-children";
import {
  type DbClock,
  describeError,
  GROUP,
  type Handlers,
  int,
  message,
  ms1,
  problem,
  SETTINGS,
  SUBSCRIBER_DEFAULTS,
  secs,
  startHandlers,
  subscriptionFor,
  summarize,
} from "./queue-common";
import { recordTarget } from "./queue-targets";

export interface LatencyResult {
  label: string;
  published: number;
  delivered: number;
  achievedRate: number;
  latencies: number[];
}

const latencyCount = () => Math.round((SETTINGS.latencyRatePerSec * SETTINGS.latencyDurationMs) / 1000);

function collect(handlers: Handlers, label: string) {
  if (handlers.error() !== undefined) problem(`${label}: ${describeError(handlers.error())}`);
  if (handlers.duplicates() > 0) problem(`${label}: ${handlers.duplicates()} messages acked twice`);
}

/** The subscriber here, the publisher a child process publishing one message at a time at 50/s. */
export async function benchCrossProcessLatency(db: BenchDatabase, clock: DbClock): Promise<LatencyResult> {
  const topic = "bench.latency.cross";
  const label = "publisher in another process";
  const count = latencyCount();
  const config: PublisherConfig = {
    url: db.url,
    topic,
    count,
    ratePerSec: SETTINGS.latencyRatePerSec,
    partitions: SETTINGS.partitions,
  };
  const child = new BenchChild("latency publisher", "queue-publisher.ts", config);
  const queue = createQueue({ url: db.url });
  try {
    await child.waitFor("ready", SETTINGS.childReadyTimeoutMs);
    const latencies: number[] = [];
    const handlers = startHandlers(
      queue.subscriber.subscribe(topic, subscriptionFor("latency-cross")),
      SETTINGS.handlers,
      (d) => {
        latencies.push(clock.now() - d.message.publishedAt);
      },
    );
    // Let the subscriber register and start polling before the publisher starts.
    await sleep(300);
    child.send({ type: "go" });
    const published = await child.waitFor("published", SETTINGS.latencyDurationMs * 3 + SETTINGS.drainTimeoutMs);
    await handlers.until(count, performance.now() + SETTINGS.drainTimeoutMs);
    const delivered = latencies.length;
    await handlers.stop();
    collect(handlers, label);
    return {
      label,
      published: published.count,
      delivered,
      achievedRate: published.count / published.seconds,
      latencies,
    };
  } finally {
    if (!(await child.stop(SETTINGS.childStopTimeoutMs))) {
      problem(`latency publisher did not exit cleanly (${child.exit?.signal ?? child.exit?.code})`);
    }
    await queue.close();
  }
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

/** Publisher and subscriber on one Queue instance: a publish wakes the subscriber at once. */
export async function benchInProcessLatency(db: BenchDatabase, clock: DbClock): Promise<LatencyResult> {
  const topic = "bench.latency.same";
  const label = "same Queue instance (wake-up)";
  const count = latencyCount();
  const queue = createQueue({ url: db.url });
  try {
    const latencies: number[] = [];
    const handlers = startHandlers(
      queue.subscriber.subscribe(topic, subscriptionFor("latency-same")),
      SETTINGS.handlers,
      (d) => {
        latencies.push(clock.now() - d.message.publishedAt);
      },
    );
    await sleep(300);
    const seconds = await publishAtRate(queue, topic, count, SETTINGS.latencyRatePerSec);
    await handlers.until(count, performance.now() + SETTINGS.drainTimeoutMs);
    const delivered = latencies.length;
    await handlers.stop();
    collect(handlers, label);
    return { label, published: count, delivered, achievedRate: count / seconds, latencies };
  } finally {
    await queue.close();
  }
}

export function printLatency(rows: LatencyResult[]) {
  printTable(
    `End-to-end latency at ${SETTINGS.latencyRatePerSec}/s for ${secs(SETTINGS.latencyDurationMs)} (receipt − publishedAt, DB clock; pollIntervalMs ${SUBSCRIBER_DEFAULTS.pollIntervalMs})`,
    ["", "published", "delivered", "rate msg/s", "p50 ms", "p99 ms", "max ms"],
    rows.map((r) => {
      const s = summarize(r.latencies);
      return [r.label, int(r.published), int(r.delivered), ms1(r.achievedRate), ms1(s.p50), ms1(s.p99), ms1(s.max)];
    }),
  );
  for (const r of rows) {
    if (r.delivered < r.published) {
      const missing = r.published - r.delivered;
      problem(`latency (${r.label}): ${missing} of ${r.published} not delivered within ${SETTINGS.drainTimeoutMs} ms`);
    }
  }
  const cross = rows.find((r) => r.label.startsWith("publisher in another process"));
  if (cross && cross.latencies.length > 0) {
    const s = summarize(cross.latencies);
    recordTarget("crossP50", `${ms1(s.p50)} ms`, s.p50 <= 60);
    recordTarget("crossP99", `${ms1(s.p99)} ms`, s.p99 <= 120);
  }
}

// ---------------------------------------------------------------- publishAfter lateness

export interface DelayedResult {
  published: number;
  delivered: number;
  lateness: number[];
  /** Received before the intended visible time on the (offset-corrected) clock. */
  earlyAtReceipt: number;
  /** Fetches (attempt rows) made before visible_after, both read on the database clock: exact. */
  earlyAtFetch: number;
  /** Messages with no attempt row, so no fetch time to check. */
  fetchUnknown: number;
}

/**
 * Fetches of `topic` by the bench's group made before their row was
 * visible, compared on the database clock alone: every attempt row's
 * fetched_at against the log row's visible_after. Read once after the run:
 * a query per delivery inside the handler would hold up its ack, and with it
 * the next fetch of its partition, and so add to the lateness measured.
 * `unchecked`: messages with no attempt row to compare.
 */
async function fetchedEarly(pool: mysql.Pool, topic: string): Promise<{ early: number; unchecked: number }> {
  const row = await queryOne<{ early: number; unchecked: number }>(
    pool,
    `SELECT
       (SELECT COUNT(*) FROM queue_attempts a
        JOIN queue_messages m ON m.topic = a.topic AND m.partition_key = a.partition_key AND m.seq = a.seq
        WHERE a.topic = ? AND a.consumer_group = ? AND a.fetched_at < m.visible_after) AS early,
       (SELECT COUNT(*) FROM queue_messages m
        WHERE m.topic = ? AND NOT EXISTS (
          SELECT 1 FROM queue_attempts a
          WHERE a.topic = m.topic AND a.partition_key = m.partition_key AND a.seq = m.seq AND a.consumer_group = ?)) AS unchecked`,
    [topic, GROUP, topic, GROUP],
  );
  return { early: Number(row?.early ?? 0), unchecked: Number(row?.unchecked ?? 0) };
}

function recordDelayed(result: DelayedResult, d: Delivery, clock: DbClock) {
  const visibleAt = d.message.publishedAt + SETTINGS.delayMs;
  const lateness = clock.now() - visibleAt;
  result.lateness.push(lateness);
  // Within the clock's uncertainty a negative lateness is measurement noise, not an early delivery.
  if (lateness < -clock.uncertaintyMs) result.earlyAtReceipt++;
}

export async function benchDelayed(db: BenchDatabase, clock: DbClock): Promise<DelayedResult> {
  const topic = "bench.delayed";
  const publisherQueue = createQueue({ url: db.url });
  const subscriberQueue = createQueue({ url: db.url });
  try {
    const result: DelayedResult = {
      published: SETTINGS.delayedCount,
      delivered: 0,
      lateness: [],
      earlyAtReceipt: 0,
      earlyAtFetch: 0,
      fetchUnknown: 0,
    };
    const sub = subscriberQueue.subscriber.subscribe(topic, subscriptionFor("delayed"));
    const handlers = startHandlers(sub, SETTINGS.handlers, (d) => recordDelayed(result, d, clock));
    await sleep(300);
    for (let i = 0; i < SETTINGS.delayedCount; i++) {
      await publisherQueue.publisher.publishAfter(topic, message("d", i, SETTINGS.partitions), SETTINGS.delayMs);
    }
    await handlers.until(SETTINGS.delayedCount, performance.now() + SETTINGS.delayMs + SETTINGS.drainTimeoutMs);
    result.delivered = result.lateness.length;
    await handlers.stop();
    collect(handlers, "publishAfter");
    const fetches = await fetchedEarly(db.raw, topic);
    result.earlyAtFetch = fetches.early;
    result.fetchUnknown = fetches.unchecked;
    return result;
  } finally {
    await Promise.all([publisherQueue.close(), subscriberQueue.close()]);
  }
}

export function printDelayed(r: DelayedResult, clock: DbClock) {
  const s = summarize(r.lateness);
  printTable(
    `publishAfter lateness: ${int(r.published)} messages, ${secs(SETTINGS.delayMs)} delay, from another Queue instance (receipt − (publishedAt + delay), DB clock)`,
    ["", "published", "delivered", "p50 ms", "p99 ms", "max ms", "min ms"],
    [["publishAfter", int(r.published), int(r.delivered), ms1(s.p50), ms1(s.p99), ms1(s.max), ms1(s.min)]],
  );
  console.log(`   EARLY deliveries at receipt (lateness < −${ms1(clock.uncertaintyMs)} ms): ${r.earlyAtReceipt}`);
  console.log(`   EARLY fetches (an attempt's fetched_at < visible_after, DB clock, every attempt): ${r.earlyAtFetch}`);
  if (r.fetchUnknown > 0) console.log(`   (no attempt row for ${r.fetchUnknown} messages)`);
  if (r.earlyAtReceipt > 0 || r.earlyAtFetch > 0) {
    problem(`publishAfter: early deliveries (${r.earlyAtReceipt} at receipt, ${r.earlyAtFetch} at fetch)`);
  }
  if (r.delivered < r.published) {
    problem(`publishAfter: ${r.published - r.delivered} of ${r.published} delayed messages not delivered`);
  }
  if (r.lateness.length > 0) recordTarget("latenessP99", `${ms1(s.p99)} ms`, s.p99 <= 60);
  const early = r.earlyAtReceipt + r.earlyAtFetch;
  const unknown = r.fetchUnknown > 0 ? `${r.fetchUnknown} not checked at fetch` : undefined;
  recordTarget("lateEarly", `${r.earlyAtFetch} at fetch, ${r.earlyAtReceipt} at receipt`, early === 0, unknown);
}
