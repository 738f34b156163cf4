// Operations on the log that are not publish or consume: DLQ requeue and
// purge (garbage collection is garbage.ts). The console and the CLI call
// these; they never touch the tables themselves.
import type { AdminOptions, Executor, QueueDb } from "./db";
import { COUNTED_COLUMNS, type CountedRow, forgetStatements } from "./dlq-counts";
import { invalid, QueueError } from "./errors";
import { parseMetadata } from "./fetch";
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
 * Sends DLQ rows back to their original topic and partition, each addressed to
 * the consumer group it failed in (other groups already finished it), and
 * deletes them from the DLQ, in the caller's transaction. A requeued row's
 * dedup origin is its DLQ row, so a repeated requeue cannot publish twice.
 * Returns the number of rows requeued.
 */
export async function requeueRows(c: Executor, logIds: number[]): Promise<number> {
  if (logIds.length === 0) return 0;
  const rows = await c.query<
    CountedRow & {
      partition_key: string;
      message_id: string;
      payload: Buffer;
      metadata: string | null;
      original_topic: string;
    }
  >(
    `SELECT ${COUNTED_COLUMNS}, partition_key, message_id, payload, metadata, original_topic FROM queue_messages
     WHERE log_id IN (?) AND original_topic IS NOT NULL AND original_group IS NOT NULL
     ORDER BY log_id FOR UPDATE`,
    [logIds],
  );
  if (rows.length === 0) return 0;
  await appendToLog(
    c,
    rows.map((row) => ({
      topic: row.original_topic,
      partitionKey: row.partition_key,
      messageId: row.message_id,
      origin: `requeue:${row.log_id}`,
      payload: row.payload,
      metadata: parseMetadata(row.metadata),
      delayMs: 0,
      targetGroup: row.original_group,
    })),
  );
  await c.script([
    { sql: "DELETE FROM queue_messages WHERE log_id IN (?)", params: [rows.map((r) => r.log_id)] },
    ...forgetStatements(rows),
  ]);
  return rows.length;
}

/** Requeues one DLQ row, addressed exactly. */
export async function requeueDeadLetter(db: QueueDb, address: DlqAddress, opts: AdminOptions = {}): Promise<void> {
  await requeueDeadLetters(db, [address], {
    // Inside the transaction, so a caller's audit row is never written for a row that was not there.
    within: async (c, n) => {
      if (n === 0) {
        const a = address;
        throw new QueueError("NOT_FOUND", `no dead letter at ${a.topic}/${a.partitionKey}#${a.seq}`);
      }
      await opts.within?.(c, n);
    },
  });
}

/** Requeues the addressed DLQ rows in one transaction; rows already gone are skipped. Returns how many moved. */
export async function requeueDeadLetters(
  db: QueueDb,
  addresses: DlqAddress[],
  opts: AdminOptions = {},
): Promise<number> {
  const checked = addresses.map(checkAddress);
  if (checked.length === 0) return 0;
  return db.tx(async (c) => {
    const ids = await c.query<{ log_id: number }>(
      `SELECT log_id FROM queue_messages WHERE (topic, partition_key, seq) IN (${checked.map(() => "(?, ?, ?)").join(", ")})`,
      checked.flatMap((a) => [a.topic, a.partitionKey, a.seq]),
    );
    const n = await requeueRows(
      c,
      ids.map((r) => Number(r.log_id)),
    );
    await opts.within?.(c, n);
    return n;
  });
}
