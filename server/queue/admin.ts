// Operations on the log that are not publish or consume: DLQ requeue and
// purge, and garbage collection. The console and the CLI call these; they
// never touch the tables themselves.
import { NOW_MS, type QueueDb } from "./db";
import { invalid, QueueError } from "./errors";
import { appendToLog } from "./log";
import { checkText, checkTopic, PARTITION_KEY_MAX } from "./names";

/** One DLQ row, addressed exactly: never "every row that shares an id". */
export interface DlqAddress {
  topic: string;
  partitionKey: string;
  seq: number;
}

function checkAddress(a: DlqAddress): DlqAddress {
  checkTopic(a.topic, "DLQ topic");
  checkText(a.partitionKey, "partitionKey", PARTITION_KEY_MAX);
  if (!Number.isSafeInteger(a.seq) || a.seq < 1) throw invalid("seq must be a positive integer");
  return a;
}

/**
 * Sends one DLQ message back to its original topic and partition, addressed to
 * the consumer group it failed in (other groups already finished it), and
 * deletes it from the DLQ, in one transaction. The new row's dedup origin is
 * the DLQ row, so a repeated requeue cannot publish twice.
 */
export async function requeueDeadLetter(db: QueueDb, address: DlqAddress): Promise<void> {
  const a = checkAddress(address);
  await db.tx(async (c) => {
    const [row] = await c.query<{
      log_id: number;
      message_id: string;
      payload: Buffer;
      metadata: string | null;
      original_topic: string | null;
      original_group: string | null;
    }>(
      `SELECT log_id, message_id, payload, metadata, original_topic, original_group FROM queue_messages
       WHERE topic = ? AND partition_key = ? AND seq = ? FOR UPDATE`,
      [a.topic, a.partitionKey, a.seq],
    );
    if (!row) throw new QueueError("NOT_FOUND", `no message at ${a.topic}/${a.partitionKey}#${a.seq}`);
    if (!row.original_topic || !row.original_group) {
      throw invalid(`${a.topic}/${a.partitionKey}#${a.seq} is not a dead letter`);
    }
    await appendToLog(c, [
      {
        topic: row.original_topic,
        partitionKey: a.partitionKey,
        messageId: row.message_id,
        origin: `requeue:${row.log_id}`,
        payload: row.payload,
        metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : undefined,
        delayMs: 0,
        targetGroup: row.original_group,
      },
    ]);
    await c.execute("DELETE FROM queue_messages WHERE log_id = ?", [row.log_id]);
  });
}

/**
 * Deletes log rows every registered consumer group of their topic has passed
 * (seq at or below the lowest watermark). Topics with no group keep
 * everything. Returns the number of rows deleted.
 */
export async function collectGarbage(db: QueueDb, opts: { maxRowsPerPartition?: number } = {}): Promise<number> {
  const limit = opts.maxRowsPerPartition ?? 10_000;
  const floors = await db.query<{ topic: string; partition_key: string; floor: number }>(
    `SELECT p.topic, p.partition_key, MIN(COALESCE(g.watermark, 0)) AS floor
     FROM queue_partitions p
     JOIN queue_groups qg ON qg.topic = p.topic
     LEFT JOIN queue_group_partitions g
       ON g.consumer_group = qg.consumer_group AND g.topic = p.topic AND g.partition_key = p.partition_key
     GROUP BY p.topic, p.partition_key
     HAVING floor > 0`,
  );
  let deleted = 0;
  for (const f of floors) {
    const { affectedRows } = await db.execute(
      "DELETE FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq <= ? ORDER BY seq LIMIT ?",
      [f.topic, f.partition_key, f.floor, limit],
    );
    deleted += affectedRows;
  }
  // Subscribers that stopped heartbeating a day ago are gone for good.
  await db.execute(`DELETE FROM queue_subscribers WHERE heartbeat_at < ${NOW_MS} - ?`, [24 * 3600_000]);
  return deleted;
}
