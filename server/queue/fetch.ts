// One fetch of a leased partition: lock the group-partition row, check the
// lease is still ours, read the next ready rows with the rows this group has
// already finished filtered out *in SQL* (so the LIMIT window can never fill
// up with finished rows and stall the partition), dead-letter the ones whose
// last visibility timeout used up their attempts, and mark the rest in flight.
// Every read starts at the watermark, so its cost does not grow with the
// backlog behind it or the history below it.
import { DeliveryState } from "../../db/schema";
import { NOW_MS, type QueueDb, type Statement } from "./db";
import {
  advanceWatermark,
  BLOCKING_IN_FLIGHT,
  type DlqSettings,
  markDead,
  type PartitionRef,
  READY_ROWS,
  idleProbe,
  releaseIdle,
} from "./partition-state";

export interface FetchedRow {
  logId: number;
  seq: number;
  messageId: string;
  payload: Buffer;
  metadata: Record<string, string>;
  publishedAt: number;
  /** When the row became visible, and when it was fetched: the database's clock, ms. */
  visibleSince: number;
  fetchedAt: number;
  attempt: number;
  failure?: { reason: string; failureCount: number; failedAt: number; originalTopic: string; consumerGroup: string };
}

export type FetchResult =
  | { kind: "lost" }
  /** Nothing ready; the lease was given back. */
  | { kind: "drained" }
  /** Nothing ready yet; the lease is kept because a row is due in `dueInMs` (database clock). */
  | { kind: "idle"; dueInMs: number; head: number }
  | { kind: "rows"; rows: FetchedRow[] };

type RawRow = {
  log_id: number;
  seq: number;
  message_id: string;
  payload: Buffer;
  metadata: string | null;
  published_at: number;
  visible_after: number;
  now: number;
  failure_reason: string | null;
  failure_count: number | null;
  failed_at: number | null;
  original_topic: string | null;
  original_group: string | null;
  attempts: number | null;
  last_error: string | null;
};

export function parseMetadata(raw: string | null): Record<string, string> {
  if (!raw) return {};
  const v: unknown = JSON.parse(raw);
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
}

/**
 * Two round trips: (1) begin, lock the group-partition row and check the
 * lease, find the first blocking in-flight row, read the ready rows; (2) mark
 * them in flight (or dead-letter the ones whose last visibility timeout used
 * up their attempts, or give an empty partition back) and commit.
 */
export async function fetchBatch(
  db: QueueDb,
  ref: PartitionRef,
  owner: string,
  opts: {
    batchSize: number;
    visibilityTimeoutMs: number;
    maxAttempts: number;
    dlq: DlqSettings;
    /** Keep the lease of a partition with nothing ready when its next row is due within this, ms. */
    keepIdleLeaseMs: number;
  },
): Promise<FetchResult> {
  const key = [ref.group, ref.topic, ref.partitionKey];
  return db.tx(async (c) => {
    const [lock, blocking, ready] = (await c.script([
      {
        sql: `SELECT watermark, lease_owner, lease_expires_at >= ${NOW_MS} AS lease_valid
              FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ? FOR UPDATE`,
        params: key,
      },
      { sql: BLOCKING_IN_FLIGHT, params: key },
      {
        sql: `SELECT m.log_id, m.seq, m.message_id, m.payload, m.metadata, m.published_at, m.visible_after, ${NOW_MS} AS now,
                     m.failure_reason, m.failure_count, m.failed_at, m.original_topic, m.original_group,
                     d.attempts, d.last_error
              ${READY_ROWS}
              ORDER BY m.seq LIMIT ?`,
        params: [...key, opts.batchSize],
      },
    ])) as [LockRow[], Array<{ seq: number | null }>, RawRow[]];
    const gp = lock[0];
    if (!gp || gp.lease_owner !== owner || Number(gp.lease_valid) !== 1) return { kind: "lost" } as const;
    const watermark = Number(gp.watermark);
    const below = blocking[0]?.seq != null ? Number(blocking[0].seq) : null;
    // Rows after a blocking one wait for it: the partition keeps its order.
    const raw = below === null ? ready : ready.filter((r) => Number(r.seq) < below);
    // Waiting for rows still out: keep the lease, try again next poll.
    if (raw.length === 0 && below !== null) return { kind: "rows", rows: [] } as const;
    if (raw.length === 0) {
      // Drained: give the lease back at once so idle partitions cost nothing,
      // and note when it can next have work so the scan skips it till then.
      const results = await c.script([...advanceWatermark(ref, watermark), idleProbe(ref, watermark)]);
      const [probe] = results.at(-1) as Array<{ head: number; idle_until: number | null; due_in: number | null }>;
      const head = Number(probe?.head ?? watermark);
      const dueIn = probe?.due_in == null ? null : Math.max(0, Number(probe.due_in));
      // Due soon: keep the lease and come back then, writing nothing (the commit needs no log flush).
      if (dueIn !== null && dueIn <= opts.keepIdleLeaseMs) return { kind: "idle", dueInMs: dueIn, head } as const;
      await c.commitWith([releaseIdle(ref, owner, probe?.idle_until == null ? null : Number(probe.idle_until), head)]);
      return { kind: "drained" } as const;
    }
    const rows: FetchedRow[] = [];
    const dead: Parameters<typeof markDead>[1] = [];
    for (const r of raw) {
      const metadata = parseMetadata(r.metadata);
      const previous = Number(r.attempts ?? 0);
      if (previous >= opts.maxAttempts) {
        // Its last delivery timed out and that was its last attempt.
        const last = r.last_error ? ` (last error: ${r.last_error})` : "";
        const reason = `visibility timeout of ${opts.visibilityTimeoutMs} ms expired on attempt ${previous} of ${opts.maxAttempts}${last}`;
        const row = {
          seq: Number(r.seq),
          logId: Number(r.log_id),
          messageId: r.message_id,
          payload: r.payload,
          metadata,
        };
        dead.push({ ref, row, attempts: previous, reason, dlq: opts.dlq });
        continue;
      }
      rows.push({
        logId: Number(r.log_id),
        seq: Number(r.seq),
        messageId: r.message_id,
        payload: r.payload,
        metadata,
        publishedAt: Number(r.published_at),
        visibleSince: Math.max(Number(r.published_at), Number(r.visible_after)),
        fetchedAt: Number(r.now),
        attempt: previous + 1,
        failure:
          r.failure_reason != null
            ? {
                reason: r.failure_reason,
                failureCount: Number(r.failure_count ?? 0),
                failedAt: Number(r.failed_at ?? 0),
                originalTopic: r.original_topic ?? "",
                consumerGroup: r.original_group ?? "",
              }
            : undefined,
      });
    }
    await markDead(c, dead);
    const writes: Statement[] = [];
    if (rows.length > 0) {
      const values = rows.map(
        () => `(?, ?, ?, ?, ${DeliveryState.inFlight}, 1, ${NOW_MS} + ?, ?, NULL, ${NOW_MS}, ${NOW_MS})`,
      );
      writes.push({
        sql: `INSERT INTO queue_deliveries
                (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at)
              VALUES ${values.join(", ")}
              ON DUPLICATE KEY UPDATE attempts = attempts + 1, state = VALUES(state), visible_at = VALUES(visible_at),
                owner = VALUES(owner), updated_at = VALUES(updated_at)`,
        params: rows.flatMap((r) => [...key, r.seq, opts.visibilityTimeoutMs, owner]),
      });
    }
    if (dead.length > 0) writes.push(...advanceWatermark(ref, watermark));
    await c.commitWith(writes);
    return { kind: "rows", rows } as const;
  });
}

type LockRow = { watermark: number; lease_owner: string | null; lease_valid: number | null };
