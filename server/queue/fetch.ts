// One fetch of a leased partition: lock the group-partition row, check the
// lease is still ours, read the next ready rows with the rows this group has
// already finished filtered out *in SQL* (so the LIMIT window can never fill
// up with finished rows and stall the partition), dead-letter the ones whose
// last visibility timeout used up their attempts, and mark the rest in flight.
import { DeliveryState } from "../../db/schema";
import type { QueueDb } from "./db";
import { NOW_MS } from "./db";
import {
  advanceWatermark,
  BLOCKING_IN_FLIGHT,
  type DlqSettings,
  lockGroupPartition,
  markDead,
  type PartitionRef,
  READY_ROWS,
  releaseLease,
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

export type FetchResult = { kind: "lost" } | { kind: "drained" } | { kind: "rows"; rows: FetchedRow[] };

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

export async function fetchBatch(
  db: QueueDb,
  ref: PartitionRef,
  owner: string,
  opts: { batchSize: number; visibilityTimeoutMs: number; maxAttempts: number; dlq: DlqSettings },
): Promise<FetchResult> {
  return db.tx(async (c) => {
    const gp = await lockGroupPartition(c, ref);
    if (!gp || gp.leaseOwner !== owner || !gp.leaseValid) return { kind: "lost" } as const;
    const [blocking] = await c.query<{ seq: number | null }>(BLOCKING_IN_FLIGHT, [
      ref.group,
      ref.topic,
      ref.partitionKey,
    ]);
    const below = blocking?.seq != null ? Number(blocking.seq) : null;
    const raw = await c.query<RawRow>(
      `SELECT m.log_id, m.seq, m.message_id, m.payload, m.metadata, m.published_at, m.visible_after, ${NOW_MS} AS now,
              m.failure_reason, m.failure_count, m.failed_at, m.original_topic, m.original_group,
              d.attempts, d.last_error
       ${READY_ROWS} ${below === null ? "" : "AND m.seq < ?"}
       ORDER BY m.seq LIMIT ?`,
      [
        ref.group,
        ref.topic,
        ref.partitionKey,
        gp.watermark,
        ref.group,
        ...(below === null ? [] : [below]),
        opts.batchSize,
      ],
    );
    // Waiting for rows still out: keep the lease, try again next poll.
    if (raw.length === 0 && below !== null) return { kind: "rows", rows: [] } as const;
    if (raw.length === 0) {
      // Drained: give the lease back at once so idle partitions cost nothing.
      await advanceWatermark(c, ref, gp.watermark);
      await releaseLease(c, ref, owner);
      return { kind: "drained" } as const;
    }
    const rows: FetchedRow[] = [];
    let died = false;
    for (const r of raw) {
      const metadata = parseMetadata(r.metadata);
      const previous = Number(r.attempts ?? 0);
      if (previous >= opts.maxAttempts) {
        // Its last delivery timed out and that was its last attempt.
        const last = r.last_error ? ` (last error: ${r.last_error})` : "";
        const reason = `visibility timeout of ${opts.visibilityTimeoutMs} ms expired on attempt ${previous} of ${opts.maxAttempts}${last}`;
        await markDead(
          c,
          ref,
          { seq: r.seq, logId: r.log_id, messageId: r.message_id, payload: r.payload, metadata },
          previous,
          reason,
          opts.dlq,
        );
        died = true;
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
    if (rows.length > 0) {
      const values = rows.map(
        () => `(?, ?, ?, ?, ${DeliveryState.inFlight}, 1, ${NOW_MS} + ?, ?, NULL, ${NOW_MS}, ${NOW_MS})`,
      );
      const params = rows.flatMap((r) => [
        ref.group,
        ref.topic,
        ref.partitionKey,
        r.seq,
        opts.visibilityTimeoutMs,
        owner,
      ]);
      await c.execute(
        `INSERT INTO queue_deliveries
           (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at)
         VALUES ${values.join(", ")}
         ON DUPLICATE KEY UPDATE attempts = attempts + 1, state = VALUES(state), visible_at = VALUES(visible_at),
           owner = VALUES(owner), updated_at = VALUES(updated_at)`,
        params,
      );
    }
    if (died) await advanceWatermark(c, ref, gp.watermark);
    return { kind: "rows", rows } as const;
  });
}
