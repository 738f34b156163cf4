// Traffic over time from the rollup (queue_traffic), never from the log: a
// topic's or a group's counts per minute over the last hour or day, and the
// overview's sparklines of every topic over the last hour. Each read is one
// round trip of range reads on the rollup's keys, bounded by minutes x groups
// x shards; minutes with no row come back as zero (counts) or null (gauges).
import type { QueueDb } from "@/server/queue/db";
import { invalid } from "@/server/queue/errors";
import { checkText, checkTopic, GROUP_MAX } from "@/server/queue/names";
import { MINUTE_SQL, TOPIC_ROW } from "@/server/queue/rollup";

export const TRAFFIC_RANGES = ["1h", "24h"] as const;
export type TrafficRange = (typeof TRAFFIC_RANGES)[number];
const MINUTES: Record<TrafficRange, number> = { "1h": 60, "24h": 1440 };
export const MINUTE_MS = 60_000;

/** One value per minute, oldest first, the last being the current (unfinished) minute. */
export interface TrafficSeries {
  topic: string;
  /** The group whose acks, nacks, dead letters and gauges these are; null: every group's (gauges: the most behind). */
  group: string | null;
  range: TrafficRange;
  /** The first minute's start, ms on the database's clock; each next value is a minute later. */
  from: number;
  published: number[];
  acked: number[];
  nacked: number[];
  deadLettered: number[];
  /** Sampled by garbage collection (about twice a minute with a worker running); null where no sample was taken. */
  lag: Array<number | null>;
  oldestPendingMs: Array<number | null>;
  totals: { published: number; acked: number; nacked: number; deadLettered: number };
}

type RawMinute = {
  minute: number;
  topic_row: number;
  published: number;
  acked: number;
  nacked: number;
  dead: number;
  lag: number | null;
  oldest: number | null;
};

const zeros = (n: number) => Array<number>(n).fill(0);
const nulls = (n: number) => Array<number | null>(n).fill(null);
const num = (v: unknown) => Number(v ?? 0);

export interface TrafficOptions {
  /**
   * Only this consumer group's acks, nacks, dead letters, lag and oldest-pending age. Default (or null):
   * every group's counts together and the gauges of the group furthest behind.
   */
  group?: string | null;
  /** How far back: the last hour or the last day, one point a minute. */
  range: TrafficRange;
}

/** A topic's traffic, per minute; with `group`, that group's acks, nacks, dead letters and gauges. */
export async function getTraffic(db: QueueDb, topic: string, opts: TrafficOptions): Promise<TrafficSeries> {
  checkTopic(topic);
  const group = opts.group ?? null;
  if (group !== null) checkText(group, "group", GROUP_MAX);
  const n = MINUTES[opts.range];
  if (!n) throw invalid(`range must be one of ${TRAFFIC_RANGES.join(", ")}`);
  const since = `${MINUTE_SQL} - ${(n - 1) * MINUTE_MS}`;
  const [nowRows, rows] = (await db.script([
    { sql: `SELECT ${MINUTE_SQL} AS minute` },
    {
      // The topic's own row (published) and its groups' rows, summed over shards; with no group
      // asked for, every group's counts together and the most behind group's gauges.
      sql: `SELECT minute, consumer_group = ? AS topic_row,
                   SUM(published) AS published, SUM(acked) AS acked, SUM(nacked) AS nacked, SUM(dead_lettered) AS dead,
                   MAX(lag) AS lag, MAX(oldest_pending_ms) AS oldest
            FROM queue_traffic
            WHERE topic = ? AND minute >= ${since} ${group === null ? "" : "AND consumer_group IN (?, ?)"}
            GROUP BY minute, topic_row`,
      params: [TOPIC_ROW, topic, ...(group === null ? [] : [TOPIC_ROW, group])],
    },
  ])) as [Array<{ minute: number }>, RawMinute[]];
  const from = num(nowRows[0]?.minute) - (n - 1) * MINUTE_MS;
  const series: TrafficSeries = {
    topic,
    group,
    range: opts.range,
    from,
    published: zeros(n),
    acked: zeros(n),
    nacked: zeros(n),
    deadLettered: zeros(n),
    lag: nulls(n),
    oldestPendingMs: nulls(n),
    totals: { published: 0, acked: 0, nacked: 0, deadLettered: 0 },
  };
  for (const r of rows) {
    const i = Math.round((num(r.minute) - from) / MINUTE_MS);
    if (i < 0 || i >= n) continue;
    if (num(r.topic_row) === 1) {
      series.published[i] = num(r.published);
      continue;
    }
    series.acked[i] = num(r.acked);
    series.nacked[i] = num(r.nacked);
    series.deadLettered[i] = num(r.dead);
    series.lag[i] = r.lag === null ? null : num(r.lag);
    series.oldestPendingMs[i] = r.oldest === null ? null : num(r.oldest);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  series.totals = {
    published: sum(series.published),
    acked: sum(series.acked),
    nacked: sum(series.nacked),
    deadLettered: sum(series.deadLettered),
  };
  return series;
}

/** Per minute over the last hour: a topic's published counts and each group's acks, nacks and dead letters. */
export interface TopicSparkline {
  topic: string;
  published: number[];
  groups: Array<{ group: string; acked: number[]; nacked: number[]; deadLettered: number[] }>;
}

export interface Sparklines {
  /** The first minute's start, ms on the database's clock; SPARKLINE_MINUTES values, a minute apart. */
  from: number;
  topics: TopicSparkline[];
}

export const SPARKLINE_MINUTES = 60;

/** Every topic's last hour, for the overview: one read of the minute index's last hour. */
export async function trafficSparklines(db: QueueDb): Promise<Sparklines> {
  const n = SPARKLINE_MINUTES;
  const [nowRows, rows] = (await db.script([
    { sql: `SELECT ${MINUTE_SQL} AS minute` },
    {
      sql: `SELECT topic, consumer_group, minute,
                   SUM(published) AS published, SUM(acked) AS acked, SUM(nacked) AS nacked, SUM(dead_lettered) AS dead
            FROM queue_traffic WHERE minute >= ${MINUTE_SQL} - ${(n - 1) * MINUTE_MS}
            GROUP BY topic, consumer_group, minute`,
    },
  ])) as [
    Array<{ minute: number }>,
    Array<{
      topic: string;
      consumer_group: string;
      minute: number;
      published: number;
      acked: number;
      nacked: number;
      dead: number;
    }>,
  ];
  const from = num(nowRows[0]?.minute) - (n - 1) * MINUTE_MS;
  const topics = new Map<string, TopicSparkline>();
  for (const r of rows) {
    const i = Math.round((num(r.minute) - from) / MINUTE_MS);
    if (i < 0 || i >= n) continue;
    let t = topics.get(r.topic);
    if (!t) {
      t = { topic: r.topic, published: zeros(n), groups: [] };
      topics.set(r.topic, t);
    }
    if (r.consumer_group === TOPIC_ROW) {
      t.published[i] = num(r.published);
      continue;
    }
    let g = t.groups.find((x) => x.group === r.consumer_group);
    if (!g) {
      g = { group: r.consumer_group, acked: zeros(n), nacked: zeros(n), deadLettered: zeros(n) };
      t.groups.push(g);
    }
    g.acked[i] = num(r.acked);
    g.nacked[i] = num(r.nacked);
    g.deadLettered[i] = num(r.dead);
  }
  return { from, topics: [...topics.values()] };
}
