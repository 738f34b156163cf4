// Attempt history: a queue_attempts row per fetch of a message by a group.
// Nothing here sends a statement of its own: the fetch and the settle append
// the one statement built here to the script their transaction already sends,
// so the history costs no round trip and one statement per transaction.
import type { AttemptOutcome } from "@/db/schema";
import { NOW_MS, type Statement } from "./db";
import type { PartitionRef } from "./partition-state";

/** Attempt rows kept per message and group: the newest; older ones are deleted as new ones come. */
export const ATTEMPT_HISTORY_CAP = 20;

/** A fetch handing the row out: a new open attempt row. */
export interface AttemptOpen {
  ref: PartitionRef;
  seq: number;
  fetchNo: number;
  attempt: number;
  owner: string;
  subscriberName: string;
}

/** How an attempt ended: by a settle, a hand-back, or its visibility timeout (seen by the next fetch). */
export interface AttemptClose {
  ref: PartitionRef;
  seq: number;
  fetchNo: number;
  attempt: number;
  outcome: (typeof AttemptOutcome)[keyof typeof AttemptOutcome];
  reason: string | null;
  /** When it ended, ms on the database's clock; null: now. */
  at: number | null;
}

const KEY = "(topic = ? AND partition_key = ? AND seq = ? AND consumer_group = ? AND fetch_no <= ?)";

/**
 * One multi-row INSERT that opens and closes attempt rows. An open tuple
 * (outcome NULL) takes its row over whole, so a row left behind by a delivery
 * row deleted under it starts afresh; a close tuple sets the outcome only of a
 * row still open: the first end of an attempt is the one it keeps. (In ON
 * DUPLICATE KEY UPDATE each assignment sees the ones before it: `outcome` is
 * assigned last, so the others read the row's old outcome.)
 */
export function attemptsStatement(open: AttemptOpen[], close: AttemptClose[]): Statement[] {
  if (open.length === 0 && close.length === 0) return [];
  const tuples = [
    ...open.map(() => `(?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, NULL, NULL, NULL)`),
    ...close.map(() => `(?, ?, ?, ?, ?, ?, '', '', ${NOW_MS}, COALESCE(?, ${NOW_MS}), ?, ?)`),
  ];
  const params = [
    ...open.flatMap((o) => [
      o.ref.topic,
      o.ref.partitionKey,
      o.seq,
      o.ref.group,
      o.fetchNo,
      o.attempt,
      o.owner,
      o.subscriberName,
    ]),
    ...close.flatMap((c) => [
      c.ref.topic,
      c.ref.partitionKey,
      c.seq,
      c.ref.group,
      c.fetchNo,
      c.attempt,
      c.at,
      c.outcome,
      c.reason,
    ]),
  ];
  const opening = "VALUES(outcome) IS NULL";
  const statements: Statement[] = [
    {
      sql: `INSERT INTO queue_attempts
              (topic, partition_key, seq, consumer_group, fetch_no, attempt, owner, subscriber_name, fetched_at, settled_at, outcome, reason)
            VALUES ${tuples.join(", ")}
            ON DUPLICATE KEY UPDATE
              reason = IF(${opening}, NULL, IF(outcome IS NULL, VALUES(reason), reason)),
              settled_at = IF(${opening}, NULL, IF(outcome IS NULL, VALUES(settled_at), settled_at)),
              attempt = IF(${opening}, VALUES(attempt), attempt),
              owner = IF(${opening}, VALUES(owner), owner),
              subscriber_name = IF(${opening}, VALUES(subscriber_name), subscriber_name),
              fetched_at = IF(${opening}, VALUES(fetched_at), fetched_at),
              outcome = IF(${opening}, NULL, COALESCE(outcome, VALUES(outcome)))`,
      params,
    },
  ];
  // Only a message fetched more than the cap has rows to drop: the common fetch sends nothing more.
  const over = open.filter((o) => o.fetchNo > ATTEMPT_HISTORY_CAP);
  if (over.length > 0) {
    statements.push({
      sql: `DELETE FROM queue_attempts WHERE ${over.map(() => KEY).join(" OR ")}`,
      params: over.flatMap((o) => [
        o.ref.topic,
        o.ref.partitionKey,
        o.seq,
        o.ref.group,
        o.fetchNo - ATTEMPT_HISTORY_CAP,
      ]),
    });
  }
  return statements;
}
