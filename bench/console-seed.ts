// Seeds a console-sized database fast: multi-row INSERTs straight into the
// queue's tables, mirroring what the library writes (sequential seq per
// partition, sha-256 dedup keys, failure groups on DLQ rows, watermarks,
// delivery windows, leases, heartbeats). Going through publish() would take
// an hour; the console only reads, so the rows just have to look the same.
import type mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import { DeliveryState } from "@/db/schema";
import { recountStatements } from "@/server/queue/dlq-counts";
import { failureGroup } from "@/server/queue/failure-group";
import { dedupKey } from "@/server/queue/log";
import { TOPIC_ROW, TRAFFIC_SHARDS } from "@/server/queue/rollup";

/** DLQ rows per partition of the DLQ topic: 2,000 (100,000 rows) unless BENCH_DLQ_PER_PARTITION says otherwise (20000: 1,000,000 rows). */
function dlqPerPartition(): number {
  const text = process.env.BENCH_DLQ_PER_PARTITION;
  if (text === undefined || text === "") return 2_000;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new Error(`BENCH_DLQ_PER_PARTITION must be a whole number from 1 to 100000; got "${text}"`);
  }
  return n;
}

export const SEED = {
  topics: ["orders", "payments", "emails", "webhooks"],
  partitionsPerTopic: 50,
  messagesPerPartition: 5_000,
  dlqTopic: "orders_dlq",
  /** Went quiet: all its rows are older than every other topic's (the newest-first scans' worst case). */
  quietTopic: "webhooks",
  dlqPerPartition: dlqPerPartition(),
  /** Rows per INSERT statement. */
  chunk: 2_000,
  /** INSERT statements in flight at once. */
  streams: 2,
  /** The last rows of each partition of these topics are deferred (publishAfter). */
  deferredTail: { emails: 20, webhooks: 5 } as Record<string, number>,
} as const;

export const GROUPS: Array<{ group: string; topic: string; lag: (p: number) => number }> = [
  // A group far behind on every partition, one with uneven lag, one caught up, one nearly.
  { group: "billing", topic: "orders", lag: () => 1_000 },
  { group: "shipping", topic: "orders", lag: (p) => (p * 97) % 5_000 },
  { group: "billing", topic: "payments", lag: (p) => (p % 10 === 0 ? 3 : 0) },
  { group: "notifier", topic: "emails", lag: () => 25 },
];

export const SUBSCRIBERS = 8;

export const partitionKey = (p: number) => `p${String(p).padStart(3, "0")}`;
export const messageId = (topic: string, p: number, seq: number) => `${topic}-${p}-${seq}`;

const REASONS: Array<(n: number) => string> = [
  (n) => `order ${n} not found`,
  (n) => `timeout after ${1000 + (n % 5) * 500} ms calling payments-api`,
  (n) => `invalid payload: field "sku" missing in line ${n % 40}`,
  (n) => `upstream 503 from inventory (request ${n.toString(16)}ab)`,
  (n) => `deadlock detected while reserving stock for ${n}`,
  (n) => `card declined: insufficient funds (order ${n})`,
  () => "schema version 3 is not supported",
  (n) => `rate limited by carrier, retry in ${n % 60} s`,
];

export function reasonFor(i: number): string {
  const make = REASONS[i % REASONS.length] ?? REASONS[0];
  return make ? make(100_000 + i) : "unknown";
}

function payloadFor(topic: string, p: number, seq: number): Buffer {
  return Buffer.from(
    JSON.stringify({ topic, partition: p, seq, customer: `c-${(p * 7919 + seq) % 100_000}`, amount: seq % 997 }),
  );
}

interface Ctx {
  pool: mysql.Pool;
  now: number;
  log: (line: string) => void;
}

/** Runs `jobs` with at most `streams` in flight. */
async function inParallel(jobs: Array<() => Promise<void>>, streams: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const job = jobs[next++];
      if (!job) return;
      await job();
    }
  };
  await Promise.all(Array.from({ length: streams }, worker));
}

const MESSAGE_COLUMNS =
  "topic, partition_key, seq, message_id, dedup_key, payload, metadata, published_at, visible_after, failure_reason, failure_count, failed_at, original_topic, original_group, original_seq, failure_group";

type MessageValues = [
  string,
  string,
  number,
  string,
  Buffer,
  Buffer,
  string | null,
  number,
  number,
  string | null,
  number | null,
  number | null,
  string | null,
  string | null,
  number | null,
  string | null,
];

async function insertMessages(pool: mysql.Pool, rows: MessageValues[]): Promise<void> {
  const one = `(${Array(16).fill("?").join(", ")})`;
  await pool.query(
    `INSERT INTO queue_messages (${MESSAGE_COLUMNS}) VALUES ${rows.map(() => one).join(", ")}`,
    rows.flat(),
  );
}

/** Rows of one topic for seqs [from, to) of every partition: one INSERT. */
function logChunk(ctx: Ctx, topic: string, from: number, to: number, timeAt: (seq: number) => number) {
  const { partitionsPerTopic: P, messagesPerPartition: N } = SEED;
  const tail = SEED.deferredTail[topic] ?? 0;
  return async () => {
    const rows: MessageValues[] = [];
    for (let seq = from; seq < to; seq++) {
      for (let p = 0; p < P; p++) {
        const id = messageId(topic, p, seq);
        rows.push([
          topic,
          partitionKey(p),
          seq,
          id,
          dedupKey(topic, partitionKey(p), id, ""),
          payloadFor(topic, p, seq),
          seq % 100 === 0 ? JSON.stringify({ trace: `t-${seq}` }) : null,
          timeAt(seq) - p,
          seq > N - tail ? ctx.now + 60_000 + ((p * 131 + seq) % 3_600) * 1000 : 0,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
        ]);
      }
    }
    await insertMessages(ctx.pool, rows);
  };
}

/** DLQ rows for seqs [from, to) of every partition of the DLQ topic: failures of `orders`. */
function dlqChunk(ctx: Ctx, from: number, to: number, timeAt: (seq: number) => number) {
  const { dlqTopic: topic, partitionsPerTopic: P, dlqPerPartition: N } = SEED;
  return async () => {
    const rows: MessageValues[] = [];
    for (let seq = from; seq < to; seq++) {
      for (let p = 0; p < P; p++) {
        const i = p * N + seq;
        const group = i % 5 === 0 ? "shipping" : "billing";
        const originalSeq = 1 + ((seq * 7) % SEED.messagesPerPartition);
        const id = messageId("orders", p, originalSeq);
        const reason = reasonFor(i);
        const failedAt = timeAt(seq) - p;
        rows.push([
          topic,
          partitionKey(p),
          seq,
          id,
          dedupKey(topic, partitionKey(p), id, `dlq:${group}:${i}`),
          payloadFor("orders", p, originalSeq),
          null,
          failedAt,
          0,
          reason,
          i % 3 === 0 ? 1 : 3,
          failedAt,
          "orders",
          group,
          originalSeq,
          failureGroup(reason),
        ]);
      }
    }
    await insertMessages(ctx.pool, rows);
  };
}

/**
 * The log in publish order, so log ids interleave the way concurrent
 * publishers make them: first the quiet topic (all of it old), then the busy
 * topics and the DLQ chunk by chunk over the last three hours.
 */
async function seedLog(ctx: Ctx): Promise<void> {
  const { topics, partitionsPerTopic: P, messagesPerPartition: N, chunk } = SEED;
  const spanMs = 3 * 3600_000;
  const start = ctx.now - 2 * spanMs;
  const seqsPerChunk = Math.max(1, Math.floor(chunk / P));
  const busy = topics.filter((t) => t !== SEED.quietTopic);
  const jobs: Array<() => Promise<void>> = [];
  for (let from = 1; from <= N; from += seqsPerChunk) {
    const to = Math.min(from + seqsPerChunk, N + 1);
    jobs.push(logChunk(ctx, SEED.quietTopic, from, to, (seq) => start + Math.floor((seq / N) * spanMs)));
  }
  const dlqEvery = Math.max(1, Math.floor((busy.length * N) / SEED.dlqPerPartition));
  let dlqFrom = 1;
  let statements = 0;
  for (let from = 1; from <= N; from += seqsPerChunk) {
    const to = Math.min(from + seqsPerChunk, N + 1);
    for (const topic of busy) {
      jobs.push(logChunk(ctx, topic, from, to, (seq) => ctx.now - spanMs + Math.floor((seq / N) * spanMs)));
      statements++;
      if (statements % dlqEvery === 0 && dlqFrom <= SEED.dlqPerPartition) {
        const dlqTo = Math.min(dlqFrom + seqsPerChunk, SEED.dlqPerPartition + 1);
        jobs.push(dlqChunk(ctx, dlqFrom, dlqTo, () => ctx.now - spanMs + Math.floor((from / N) * spanMs)));
        dlqFrom = dlqTo;
      }
    }
  }
  for (; dlqFrom <= SEED.dlqPerPartition; dlqFrom += seqsPerChunk) {
    jobs.push(dlqChunk(ctx, dlqFrom, Math.min(dlqFrom + seqsPerChunk, SEED.dlqPerPartition + 1), () => ctx.now));
  }
  let done = 0;
  await inParallel(
    jobs.map((job) => async () => {
      await job();
      done++;
      if (done % 100 === 0) ctx.log(`  ${done} / ${jobs.length} INSERTs`);
    }),
    SEED.streams,
  );
  const partitions = [
    ...topics.map((t) => ({ topic: t, head: N, last: t === SEED.quietTopic ? start + spanMs : ctx.now })),
    { topic: SEED.dlqTopic, head: SEED.dlqPerPartition, last: ctx.now },
  ].flatMap(({ topic, head, last }) =>
    Array.from(
      { length: P },
      (_, p) => `(${ctx.pool.escape(topic)}, '${partitionKey(p)}', ${head}, ${start}, ${last - p})`,
    ),
  );
  await ctx.pool.query(
    `INSERT INTO queue_partitions (topic, partition_key, head_seq, created_at, last_published_at) VALUES ${partitions.join(", ")}`,
  );
  // The rows went in around the queue: their counts are the library's recount of the topic.
  for (const st of recountStatements(SEED.dlqTopic)) await ctx.pool.query(st.sql, st.params);
}

export const subscriberId = (i: number) => `bench-sub-${i}`;

/** Groups, watermarks with partial lag, a delivery window per partition, leases and heartbeats. */
async function seedGroups(ctx: Ctx): Promise<void> {
  const { partitionsPerTopic: P, messagesPerPartition: N } = SEED;
  const subs = Array.from({ length: SUBSCRIBERS }, (_, i) => ({
    id: subscriberId(i),
    topic: GROUPS[i % GROUPS.length]?.topic ?? "orders",
    group: GROUPS[i % GROUPS.length]?.group ?? "billing",
  }));
  await ctx.pool.query(
    `INSERT INTO queue_subscribers (instance_id, subscriber_name, consumer_group, topic, host, pid, started_at, heartbeat_at) VALUES ${subs
      .map(
        (s, i) =>
          `('${s.id}', 'worker-${i % 2}', '${s.group}', '${s.topic}', 'bench-host', ${1000 + (i % 2)}, ${ctx.now - 3600_000}, ${
            // One subscriber stopped heartbeating a minute ago: the console shows it as not alive.
            i === SUBSCRIBERS - 1 ? ctx.now - 60_000 : ctx.now - 2_000
          })`,
      )
      .join(", ")}`,
  );
  await ctx.pool.query(
    `INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES ${GROUPS.map(
      (g) => `('${g.group}', '${g.topic}', ${ctx.now - 3600_000})`,
    ).join(", ")}`,
  );
  const gp: string[] = [];
  const deliveries: string[] = [];
  for (const g of GROUPS) {
    const owners = subs.filter((s) => s.group === g.group && s.topic === g.topic);
    for (let p = 0; p < P; p++) {
      const watermark = N - g.lag(p);
      const owner = owners.length > 0 && watermark < N ? owners[p % owners.length]?.id : undefined;
      gp.push(
        `('${g.group}', '${g.topic}', '${partitionKey(p)}', ${watermark}, ${owner ? `'${owner}'` : "NULL"}, ${
          owner ? ctx.now + 30_000 : "NULL"
        }, ${ctx.now})`,
      );
      // The window above the watermark: in flight to the lease holder, acked out of order, retrying.
      const window: Array<[number, number, string | null, number, string | null]> = [];
      for (let k = 1; k <= Math.min(17, N - watermark); k++) {
        const seq = watermark + k;
        if (k <= 10 && owner) window.push([seq, DeliveryState.inFlight, owner, ctx.now + 60_000, null]);
        else if (k <= 15) window.push([seq, DeliveryState.acked, null, 0, null]);
        else window.push([seq, DeliveryState.inFlight, null, ctx.now + 30_000, "timeout after 2000 ms"]);
      }
      for (const [seq, state, o, visibleAt, err] of window) {
        deliveries.push(
          `('${g.group}', '${g.topic}', '${partitionKey(p)}', ${seq}, ${state}, ${err ? 2 : 1}, ${visibleAt}, ${
            o ? `'${o}'` : "NULL"
          }, ${err ? ctx.pool.escape(err) : "NULL"}, ${ctx.now - 60_000}, ${ctx.now})`,
        );
      }
    }
  }
  await ctx.pool.query(
    `INSERT INTO queue_group_partitions (consumer_group, topic, partition_key, watermark, lease_owner, lease_expires_at, updated_at) VALUES ${gp.join(", ")}`,
  );
  for (let i = 0; i < deliveries.length; i += 2_000) {
    await ctx.pool.query(
      `INSERT INTO queue_deliveries (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at) VALUES ${deliveries
        .slice(i, i + 2_000)
        .join(", ")}`,
    );
  }
}

/**
 * A day of the traffic rollup, as the queue leaves it when busy: for every
 * topic (its published row) and group (acked, nacked, dead-lettered, and the
 * gauges garbage collection samples into shard 0), every minute of the last
 * 24 hours on every shard. The charts' worst case: a quiet system fills fewer.
 */
async function seedTraffic(ctx: Ctx): Promise<number> {
  const minuteNow = Math.floor(ctx.now / 60_000) * 60_000;
  const series = [
    ...[...SEED.topics, SEED.dlqTopic].map((topic) => ({ topic, group: TOPIC_ROW })),
    ...GROUPS.map((g) => ({ topic: g.topic, group: g.group })),
  ];
  const rows: string[] = [];
  for (const { topic, group } of series) {
    for (let m = 0; m < 1440; m++) {
      const minute = minuteNow - m * 60_000;
      for (let shard = 0; shard < TRAFFIC_SHARDS; shard++) {
        const n = 1 + ((m * 31 + shard * 7) % 40);
        const gauges = group !== TOPIC_ROW && shard === 0 ? `${(m * 13) % 5_000}, ${(m % 90) * 1000}` : "NULL, NULL";
        rows.push(
          group === TOPIC_ROW
            ? `(${ctx.pool.escape(topic)}, ${minute}, '', ${shard}, ${n}, 0, 0, 0, NULL, NULL)`
            : `(${ctx.pool.escape(topic)}, ${minute}, ${ctx.pool.escape(group)}, ${shard}, 0, ${n}, ${n % 3}, ${n % 5 === 0 ? 1 : 0}, ${gauges})`,
        );
      }
    }
  }
  for (let i = 0; i < rows.length; i += SEED.chunk) {
    await ctx.pool.query(
      `INSERT INTO queue_traffic (topic, minute, consumer_group, shard, published, acked, nacked, dead_lettered, lag, oldest_pending_ms)
       VALUES ${rows.slice(i, i + SEED.chunk).join(", ")}`,
    );
  }
  return rows.length;
}

/** A few builds, so the overview's "builds by status" has something to count. */
async function seedBuilds(ctx: Ctx): Promise<void> {
  const statuses = ["succeeded", "succeeded", "succeeded", "failed", "running", "accepted", "cancelled"];
  const values = Array.from({ length: 700 }, (_, i) => {
    const status = statuses[i % statuses.length];
    return `('build-${i}', 'batch-${i}', 'noop', 'main', '${status}', '{}', ${ctx.now - i * 60_000}, ${ctx.now - i * 60_000})`;
  });
  await ctx.pool.query(
    `INSERT INTO builds (id, batch_id, runner, queue, status, metadata, created_at, updated_at) VALUES ${values.join(", ")}`,
  );
}

export async function seedConsoleData(pool: mysql.Pool, log: (line: string) => void): Promise<void> {
  const [[clock]] = (await pool.query(`SELECT ${NOW_MS_SQL} AS now`)) as unknown as [Array<{ now: number | string }>];
  const ctx: Ctx = { pool, now: Number(clock?.now), log };
  let t = performance.now();
  const step = (what: string) => {
    log(`  ${what}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
  };
  await seedLog(ctx);
  step(
    `log: ${SEED.topics.length * SEED.partitionsPerTopic * SEED.messagesPerPartition} messages and ${
      SEED.partitionsPerTopic * SEED.dlqPerPartition
    } DLQ rows in ${SEED.dlqTopic}`,
  );
  await seedGroups(ctx);
  await seedBuilds(ctx);
  step("groups, deliveries, subscribers, builds");
  const traffic = await seedTraffic(ctx);
  step(`traffic: ${traffic} rollup rows (24 h, every shard)`);
  await pool.query(
    "ANALYZE TABLE queue_messages, queue_partitions, queue_group_partitions, queue_deliveries, queue_traffic",
  );
  step("ANALYZE TABLE");
}

/**
 * Keeps the seeded workers alive between timings (untimed): heartbeats,
 * leases and in-flight deliveries would otherwise expire a minute into the
 * run and the in-flight pages would time an empty window.
 */
export async function refreshLiveness(pool: mysql.Pool): Promise<void> {
  await pool.query(
    `UPDATE queue_subscribers SET heartbeat_at = ${NOW_MS_SQL} - 2000 WHERE instance_id <> '${subscriberId(SUBSCRIBERS - 1)}'`,
  );
  await pool.query(
    `UPDATE queue_group_partitions SET lease_expires_at = ${NOW_MS_SQL} + 30000 WHERE lease_owner IS NOT NULL`,
  );
  await pool.query(
    `UPDATE queue_deliveries SET visible_at = ${NOW_MS_SQL} + IF(owner IS NULL, 30000, 60000) WHERE state = ${DeliveryState.inFlight}`,
  );
}
