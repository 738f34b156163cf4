// A message's attempt history per consumer group, for the console and the
// CLI: every fetch the group made of it (kept: the last ATTEMPT_HISTORY_CAP),
// who held it, for how long and how it ended, and when the next attempt is
// due. Two primary-key reads: the groups' state of the message, its attempt rows.
import { AttemptOutcome, DeliveryState } from "@/db/schema";
import { ATTEMPT_HISTORY_CAP } from "@/server/queue/attempts";
import type { QueueDb } from "@/server/queue/db";
import { invalid } from "@/server/queue/errors";
import { checkText, checkTopic, PARTITION_KEY_MAX } from "@/server/queue/names";
import { COLUMNS, type MessageState, type Raw, stateOf } from "./messages";

export const ATTEMPT_OUTCOMES = ["in_flight", "acked", "nacked", "dead_lettered", "expired", "handed_back"] as const;
export type AttemptOutcomeName = (typeof ATTEMPT_OUTCOMES)[number];

const NAMES: Record<number, AttemptOutcomeName> = {
  [AttemptOutcome.acked]: "acked",
  [AttemptOutcome.nacked]: "nacked",
  [AttemptOutcome.deadLettered]: "dead_lettered",
  [AttemptOutcome.expired]: "expired",
  [AttemptOutcome.handedBack]: "handed_back",
};

export interface AttemptRow {
  /** The delivery's attempt number (a hand-back gives its number back, so the next fetch has it again). */
  attempt: number;
  /** The subscriber that held it: its name, and its instance id. */
  subscriber: string;
  owner: string;
  fetchedAt: number;
  /** When it ended (a settle, a hand-back, or its visibility timeout); null while out. */
  endedAt: number | null;
  outcome: AttemptOutcomeName;
  reason: string | null;
  /** How long it was held: to its end, or until now while out (ms). */
  heldMs: number;
}

export interface GroupAttempts {
  group: string;
  state: MessageState | null;
  /** Attempts used (the delivery's count; once that row is collected, the highest kept). */
  attempts: number;
  /** The kept attempts, oldest first. */
  history: AttemptRow[];
  /** Some older attempts were dropped (over the cap). */
  truncated: boolean;
  /** A retrying (nacked, or handed back) message: when it may be fetched again, database clock. */
  nextAttemptAt: number | null;
  /** In flight: when its visibility timeout runs out. */
  visibleUntil: number | null;
}

export interface MessageAttempts {
  topic: string;
  partitionKey: string;
  seq: number;
  cap: number;
  now: number;
  groups: GroupAttempts[];
}

type AttemptRaw = {
  consumer_group: string;
  fetch_no: number;
  attempt: number;
  owner: string;
  subscriber_name: string;
  fetched_at: number;
  settled_at: number | null;
  outcome: number | null;
  reason: string | null;
};

type GroupRaw = Raw & { consumer_group: string; d_fetches: number | null };

export async function getAttempts(
  db: QueueDb,
  topic: string,
  partitionKey: string,
  seq: number,
): Promise<MessageAttempts | null> {
  checkTopic(topic);
  checkText(partitionKey, "partitionKey", PARTITION_KEY_MAX);
  if (!Number.isSafeInteger(seq) || seq < 1) throw invalid("seq must be a positive integer");
  const groups = await db.query<GroupRaw>(
    `SELECT qg.consumer_group, ${COLUMNS}, d.fetches AS d_fetches
     FROM queue_groups qg
     JOIN queue_messages m ON m.topic = qg.topic AND m.partition_key = ? AND m.seq = ?
     LEFT JOIN queue_group_partitions g ON g.consumer_group = qg.consumer_group AND g.topic = m.topic AND g.partition_key = m.partition_key
     LEFT JOIN queue_deliveries d ON d.consumer_group = qg.consumer_group AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
     WHERE qg.topic = ?
     ORDER BY qg.consumer_group`,
    [partitionKey, seq, topic],
  );
  if (groups.length === 0) {
    const [exists] = await db.query("SELECT 1 FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq = ?", [
      topic,
      partitionKey,
      seq,
    ]);
    if (!exists) return null;
  }
  const rows = await db.query<AttemptRaw>(
    `SELECT consumer_group, fetch_no, attempt, owner, subscriber_name, fetched_at, settled_at, outcome, reason
     FROM queue_attempts WHERE topic = ? AND partition_key = ? AND seq = ?
     ORDER BY consumer_group, fetch_no`,
    [topic, partitionKey, seq],
  );
  const now = Number(groups[0]?.now ?? Date.now());
  return {
    topic,
    partitionKey,
    seq,
    cap: ATTEMPT_HISTORY_CAP,
    now,
    groups: groups.map((g) => groupAttempts(g, rows, now)),
  };
}

function groupAttempts(g: GroupRaw, all: AttemptRaw[], now: number): GroupAttempts {
  const rows = all.filter((a) => a.consumer_group === g.consumer_group);
  const inFlight = g.d_state === DeliveryState.inFlight;
  const visibleAt = g.d_visible_at === null ? null : Number(g.d_visible_at);
  const current = g.d_fetches === null ? null : Number(g.d_fetches);
  const history = rows.map((a): AttemptRow => {
    const fetchedAt = Number(a.fetched_at);
    let outcome = a.outcome === null ? undefined : NAMES[Number(a.outcome)];
    let endedAt = a.settled_at === null ? null : Number(a.settled_at);
    if (outcome === undefined) {
      // Still open: out now, unless its visibility timeout passed (the next fetch will record
      // that; until then the database's clock says so already), or its delivery row is gone.
      const out = inFlight && Number(a.fetch_no) === current && visibleAt !== null;
      if (out && (visibleAt as number) > now) outcome = "in_flight";
      else {
        outcome = "expired";
        endedAt = out ? visibleAt : null;
      }
    }
    return {
      attempt: Number(a.attempt),
      subscriber: a.subscriber_name,
      owner: a.owner,
      fetchedAt,
      endedAt,
      outcome,
      reason: a.reason,
      heldMs: Math.max(0, (endedAt ?? (outcome === "in_flight" ? now : fetchedAt)) - fetchedAt),
    };
  });
  const state = stateOf(g, g.consumer_group);
  const last = history.at(-1);
  return {
    group: g.consumer_group,
    state,
    attempts: Number(g.d_attempts ?? (last ? Math.max(...history.map((h) => h.attempt)) : 0)),
    history,
    truncated: rows.length > 0 && Number(rows[0]?.fetch_no) > 1,
    nextAttemptAt: inFlight && g.d_owner === null && visibleAt !== null ? visibleAt : null,
    visibleUntil: state === "in_flight" ? visibleAt : null,
  };
}
