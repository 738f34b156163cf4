// Taking messages out of the log by hand: one message, or every message of a
// topic. Both lock the group-partition rows they touch first (FOR UPDATE, key
// order), like every change to delivery state (partition-state.ts), so no
// fetch hands out a row while it is being deleted and no settle writes a
// delivery row back. A deleted message's delivery rows go with it: a holder
// that settles it afterwards gets DELIVERY_EXPIRED and changes nothing. The
// partition rows (and their head_seq) stay, so later publishes keep counting
// up from where the partition was and no group's watermark is ever above a
// new message.
import type { AdminOptions, Executor, QueueDb } from "@/server/queue/db";
import {
  COUNTED_COLUMNS,
  type CountedRow,
  forgetStatements,
  recountStatements,
  topicsWithDeadLetters,
} from "@/server/queue/dlq-counts";
import { invalid, QueueError } from "@/server/queue/errors";
import { checkText, checkTopic, PARTITION_KEY_MAX } from "@/server/queue/names";
import { outWithOwner } from "@/server/queue/partition-state";
import type { MessageAddress } from "./deferred";

export interface DeletedMessage extends MessageAddress {
  id: string;
  /** Delivery rows removed with it, over all groups. */
  deliveriesCleared: number;
  /** Groups that had it out with a subscriber: their settle of it will fail with DELIVERY_EXPIRED. */
  inFlightFor: string[];
}

export interface PurgedTopic {
  topic: string;
  deleted: number;
  deliveriesCleared: number;
}

async function groupsOf(c: Executor, topic: string): Promise<string[]> {
  const rows = await c.query<{ consumer_group: string }>(
    "SELECT consumer_group FROM queue_groups WHERE topic = ? ORDER BY consumer_group",
    [topic],
  );
  return rows.map((r) => r.consumer_group);
}

/** Deletes the message at `address` and every group's delivery row of it. NOT_FOUND when there is none. */
export async function deleteMessage(
  db: QueueDb,
  address: MessageAddress,
  opts: AdminOptions = {},
): Promise<DeletedMessage> {
  const { topic, partitionKey, seq } = address;
  checkTopic(topic);
  checkText(partitionKey, "partitionKey", PARTITION_KEY_MAX);
  if (!Number.isSafeInteger(seq) || seq < 1) throw invalid("seq must be a positive integer");
  return db.tx(async (c) => {
    const groups = await groupsOf(c, topic);
    if (groups.length > 0) {
      await c.query(
        `SELECT consumer_group FROM queue_group_partitions
         WHERE consumer_group IN (?) AND topic = ? AND partition_key = ? ORDER BY consumer_group FOR UPDATE`,
        [groups, topic, partitionKey],
      );
    }
    const [m] = await c.query<CountedRow & { message_id: string }>(
      `SELECT ${COUNTED_COLUMNS}, message_id FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq = ? FOR UPDATE`,
      [topic, partitionKey, seq],
    );
    if (!m) throw new QueueError("NOT_FOUND", `no message ${partitionKey}/${seq} in topic ${topic}`);
    let inFlightFor: string[] = [];
    let deliveriesCleared = 0;
    if (groups.length > 0) {
      const out = await c.query<{ consumer_group: string }>(
        `SELECT consumer_group FROM queue_deliveries
         WHERE consumer_group IN (?) AND topic = ? AND partition_key = ? AND seq = ?
           AND ${outWithOwner("queue_deliveries")}
         ORDER BY consumer_group`,
        [groups, topic, partitionKey, seq],
      );
      inFlightFor = out.map((r) => r.consumer_group);
      deliveriesCleared = (
        await c.execute(
          "DELETE FROM queue_deliveries WHERE consumer_group IN (?) AND topic = ? AND partition_key = ? AND seq = ?",
          [groups, topic, partitionKey, seq],
        )
      ).affectedRows;
      await c.execute("DELETE FROM queue_attempts WHERE topic = ? AND partition_key = ? AND seq = ?", [
        topic,
        partitionKey,
        seq,
      ]);
    }
    await c.script([
      { sql: "DELETE FROM queue_messages WHERE log_id = ?", params: [m.log_id] },
      ...forgetStatements([m]),
    ]);
    await opts.within?.(c, 1);
    return { topic, partitionKey, seq, id: m.message_id, deliveriesCleared, inFlightFor };
  });
}

/** Exactly how many messages a topic holds now (every row is counted: no cap). */
export async function countTopicMessages(db: QueueDb, topic: string): Promise<number> {
  checkTopic(topic);
  const [r] = await db.query<{ n: number }>(
    "SELECT COUNT(*) AS n FROM queue_messages FORCE INDEX (queue_messages_topic_log) WHERE topic = ?",
    [topic],
  );
  return Number(r?.n ?? 0);
}

export interface PurgeOptions extends AdminOptions {
  /** The count the operator confirmed: the purge is refused unless exactly this many messages go. */
  expectedCount: number;
}

/**
 * Deletes every message of `topic` and its groups' delivery rows, in one
 * transaction. `expectedCount` is the count the operator confirmed: when the
 * delete would remove another number (something was published, collected or
 * deleted since), it is rolled back and refused, so a purge never deletes
 * more or less than was shown. Messages published after the purge began are
 * kept. Consumers of the topic wait on their partitions' locks until it
 * commits.
 */
export async function purgeTopic(db: QueueDb, topic: string, opts: PurgeOptions): Promise<PurgedTopic> {
  checkTopic(topic);
  if (!Number.isSafeInteger(opts.expectedCount) || opts.expectedCount < 0) {
    throw invalid("expectedCount must be an integer of 0 or more");
  }
  return db.tx(async (c) => {
    const groups = await groupsOf(c, topic);
    if (groups.length > 0) {
      await c.query(
        `SELECT partition_key FROM queue_group_partitions
         WHERE consumer_group IN (?) AND topic = ? ORDER BY consumer_group, partition_key FOR UPDATE`,
        [groups, topic],
      );
    }
    const [top] = await c.query<{ max: number | null }>(
      "SELECT MAX(log_id) AS max FROM queue_messages WHERE topic = ?",
      [topic],
    );
    const maxLogId = Number(top?.max ?? 0);
    const deliveriesCleared =
      groups.length === 0
        ? 0
        : (await c.execute("DELETE FROM queue_deliveries WHERE consumer_group IN (?) AND topic = ?", [groups, topic]))
            .affectedRows;
    if (groups.length > 0) {
      await c.execute("DELETE FROM queue_attempts WHERE topic = ? AND consumer_group IN (?)", [topic, groups]);
    }
    const { affectedRows: deleted } = await c.execute("DELETE FROM queue_messages WHERE topic = ? AND log_id <= ?", [
      topic,
      maxLogId,
    ]);
    if (deleted !== opts.expectedCount) {
      throw invalid(
        `topic ${topic} now holds ${deleted} messages, not the ${opts.expectedCount} you confirmed; nothing was deleted: look again and confirm the new count`,
      );
    }
    if ((await topicsWithDeadLetters(c, [topic])).size > 0) await c.script(recountStatements(topic));
    await opts.within?.(c, deleted);
    return { topic, deleted, deliveriesCleared };
  });
}
