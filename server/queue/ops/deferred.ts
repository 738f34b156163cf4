// Deferred messages (publishAfter, not yet visible) and "deliver now".
import { type AdminOptions, NOW_MS, type QueueDb } from "@/server/queue/db";
import { clearIdle } from "@/server/queue/partition-state";

export interface DeferredRow {
  topic: string;
  partitionKey: string;
  seq: number;
  /** The message id given at publish. */
  id: string;
  /** ms on the database's clock. */
  publishedAt: number;
  /** When subscribers may have it, ms on the database's clock. */
  visibleAfter: number;
  /** Time left on the database's clock when read, ms. */
  remainingMs: number;
}

/** Where a page of deferred messages ended: the last row's visibleAfter (ms) and log id. */
export interface DeferredCursor {
  visibleAfter: number;
  logId: number;
}

export interface DeferredListOptions {
  /** Only this topic's deferred messages. Default: every topic. */
  topic?: string;
  /** Start after this row (the `next` of the page before). Default: from the soonest. */
  after?: DeferredCursor;
  /** The most rows to return. */
  limit: number;
}

export interface DeferredPage {
  /** Soonest visible first. */
  rows: DeferredRow[];
  /** Pass back as `after` for the next page; null at the end. */
  next: DeferredCursor | null;
}

/**
 * Soonest first, keyset-paged on (visible_after, log_id). Without a topic
 * each topic is read through its (topic, visible_after) index and the pages
 * are merged, so the cost follows the page size and the number of topics.
 */
export async function listDeferred(db: QueueDb, opts: DeferredListOptions): Promise<DeferredPage> {
  const topics =
    opts.topic !== undefined
      ? [opts.topic]
      : (await db.query<{ topic: string }>("SELECT DISTINCT topic FROM queue_partitions")).map((r) => r.topic);
  const after = opts.after;
  const merged: Array<DeferredRow & { logId: number }> = [];
  for (const topic of topics) {
    const rows = await db.query<{
      log_id: number;
      partition_key: string;
      seq: number;
      message_id: string;
      published_at: number;
      visible_after: number;
      remaining: number;
    }>(
      `SELECT log_id, partition_key, seq, message_id, published_at, visible_after,
              CAST(visible_after AS SIGNED) - CAST(${NOW_MS} AS SIGNED) AS remaining
       FROM queue_messages
       WHERE topic = ? AND visible_after > ${NOW_MS}
         ${after ? "AND (visible_after > ? OR (visible_after = ? AND log_id > ?))" : ""}
       ORDER BY visible_after, log_id LIMIT ?`,
      [topic, ...(after ? [after.visibleAfter, after.visibleAfter, after.logId] : []), opts.limit + 1],
    );
    for (const r of rows) {
      merged.push({
        topic,
        logId: Number(r.log_id),
        partitionKey: r.partition_key,
        seq: Number(r.seq),
        id: r.message_id,
        publishedAt: Number(r.published_at),
        visibleAfter: Number(r.visible_after),
        remainingMs: Number(r.remaining),
      });
    }
  }
  merged.sort((a, b) => a.visibleAfter - b.visibleAfter || a.logId - b.logId);
  const page = merged.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    rows: page.map(({ logId: _logId, ...r }) => r),
    next: merged.length > opts.limit && last ? { visibleAfter: last.visibleAfter, logId: last.logId } : null,
  };
}

export interface MessageAddress {
  topic: string;
  partitionKey: string;
  seq: number;
}

/** Makes deferred messages visible now. Returns how many were still deferred. */
export async function deliverNow(db: QueueDb, addresses: MessageAddress[], opts: AdminOptions = {}): Promise<number> {
  if (addresses.length === 0) return 0;
  return db.tx(async (c) => {
    let n = 0;
    for (const a of addresses) {
      const { affectedRows } = await c.execute(
        `UPDATE queue_messages SET visible_after = ${NOW_MS}
         WHERE topic = ? AND partition_key = ? AND seq = ? AND visible_after > ${NOW_MS}`,
        [a.topic, a.partitionKey, a.seq],
      );
      n += affectedRows;
    }
    // Subscribers skip partitions marked idle until their next due time: these are due now.
    const byTopic = new Map<string, string[]>();
    for (const a of addresses) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partitionKey]);
    await c.script([...byTopic].map(([topic, keys]) => clearIdle(topic, keys)));
    await opts.within?.(c, n);
    return n;
  });
}
