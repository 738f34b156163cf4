// After the faults: what the killed consumers' in-flight deliveries became,
// which unacknowledged publishes were stored after all, and the drain that
// keeps the consumers running until every group has every expected message.
import { NOW_MS_SQL } from "@/db/clock";
import { pause } from "@/faults/wait";
import type { Harness } from "./harness";
import type { InFlight } from "./ledger";

export interface DrainResult {
  complete: boolean;
  /** Expected (group, id) pairs still undelivered when the drain ended. */
  missing: number;
  ms: number;
}

/**
 * Decides each in-flight delivery of a killed consumer from the database: if
 * the group's delivery row is acked at the very attempt the dead consumer
 * held, its ack committed, so it counts as delivered there. Any other
 * outcome means the message had to come back to someone else.
 */
export async function resolveInFlight(h: Harness): Promise<void> {
  for (const f of h.ledger.inFlight) {
    if (f.resolved) continue;
    const [row] = await h.sql<{ state: number; attempts: number }>(
      `SELECT state, attempts FROM queue_deliveries
       WHERE consumer_group = ? AND topic = ? AND partition_key = ? AND seq = ?`,
      [f.group, f.topic, f.partitionKey, f.seq],
    );
    if (row) {
      const attempts = Number(row.attempts);
      if (attempts > f.attempt || Number(row.state) === 2) f.resolved = true;
      else if (Number(row.state) === 1 && attempts === f.attempt) {
        f.resolved = true;
        recordCommitted(h, f);
      }
      continue;
    }
    // Garbage collection took the row: only the watermark is left to say it finished.
    const [gp] = await h.sql<{ watermark: number }>(
      "SELECT watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ?",
      [f.group, f.topic, f.partitionKey],
    );
    if (gp && Number(gp.watermark) >= f.seq) {
      f.resolved = true;
      if (!h.ledger.delivered(f.group).has(f.id)) recordCommitted(h, f);
    }
  }
}

/** A killed consumer's delivery whose ack committed before it died: delivered, though never printed. */
function recordCommitted(h: Harness, f: InFlight): void {
  const { group, topic, partitionKey, id, seq, consumer, n } = f;
  h.ledger.recordDelivery({ group, topic, partitionKey, id, seq, consumer, n });
}

/** Unacknowledged publishes whose rows exist (looked up, since they may or may not). */
async function refreshStoredUnacked(h: Harness, topics: string[]): Promise<void> {
  const { unacked, storedUnacked } = h.ledger;
  const unknown = [...unacked].filter((id) => !storedUnacked.has(id));
  for (let i = 0; i < unknown.length; i += 500) {
    const chunk = unknown.slice(i, i + 500);
    const rows = await h.sql<{ message_id: string }>(
      "SELECT message_id FROM queue_messages WHERE topic IN (?) AND message_id IN (?)",
      [topics, chunk],
    );
    for (const r of rows) storedUnacked.add(r.message_id);
  }
}

/**
 * Keeps every consumer slot not retired running (restarting whatever is
 * down) until each group has every expected message. A long soak can leave
 * a large backlog, so it gives up only when the count of missing deliveries
 * has not dropped for `stallMs` (well past the visibility timeout and lease,
 * so anything stranded had its chance to come back), or after `maxMs` in all.
 */
export async function drain(
  h: Harness,
  groups: string[],
  opts: { stallMs?: number; maxMs?: number } = {},
): Promise<DrainResult> {
  const stallMs = opts.stallMs ?? 30_000;
  const started = Date.now();
  const deadline = started + (opts.maxMs ?? 20 * 60_000);
  const topics = h.ledger.topics();
  let lastReport = started;
  let best = Number.POSITIVE_INFINITY;
  let bestAt = started;
  for (;;) {
    for (const s of h.procs.consumers()) if (!s.retired && !h.procs.running(s)) await h.procs.restart(s);
    await resolveInFlight(h);
    if (topics.length > 0) await refreshStoredUnacked(h, topics);
    const missing = h.ledger.missing(groups);
    const now = Date.now();
    if (missing < best) {
      best = missing;
      bestAt = now;
    }
    if (missing === 0 || now - bestAt > stallMs || now > deadline) {
      h.log(`drain ${missing === 0 ? "complete" : `gave up with ${missing} missing`} in ${now - started} ms`);
      if (missing > 0) for (const line of await describeBacklog(h, groups)) h.log(`  ${line}`);
      return { complete: missing === 0, missing, ms: now - started };
    }
    if (now - lastReport >= 5000) {
      lastReport = now;
      const worst = (await describeBacklog(h, groups)).slice(0, 3).join("; ");
      h.log(`draining: ${missing} (group, message) pairs still to deliver; most behind: ${worst}`);
    }
    await pause(200);
  }
}

/** The partitions furthest behind per group, with their lease and delivery state: the drain's diagnosis. */
async function describeBacklog(h: Harness, groups: string[], limit = 6): Promise<string[]> {
  const rows = await h.sql<{
    consumer_group: string;
    topic: string;
    partition_key: string;
    head_seq: number;
    watermark: number | null;
    lease_owner: string | null;
    lease_ms: number | null;
    n_out: number;
    n_acked: number;
  }>(
    `SELECT g.name AS consumer_group, p.topic, p.partition_key, p.head_seq, gp.watermark, gp.lease_owner,
            gp.lease_expires_at - ${NOW_MS_SQL} AS lease_ms,
            (SELECT COUNT(*) FROM queue_deliveries d WHERE d.consumer_group = g.name AND d.topic = p.topic
               AND d.partition_key = p.partition_key AND d.state = 0 AND d.seq > COALESCE(gp.watermark, 0)) AS n_out,
            (SELECT COUNT(*) FROM queue_deliveries d WHERE d.consumer_group = g.name AND d.topic = p.topic
               AND d.partition_key = p.partition_key AND d.state = 1 AND d.seq > COALESCE(gp.watermark, 0)) AS n_acked
     FROM queue_partitions p
     JOIN (${groups.map(() => "SELECT ? AS name").join(" UNION ALL ")}) g
     LEFT JOIN queue_group_partitions gp
       ON gp.consumer_group = g.name AND gp.topic = p.topic AND gp.partition_key = p.partition_key
     WHERE p.head_seq > COALESCE(gp.watermark, 0)
     ORDER BY p.head_seq - COALESCE(gp.watermark, 0) DESC LIMIT ${limit}`,
    groups,
  );
  return rows.map(
    (r) =>
      `${r.consumer_group}/${r.topic}/${r.partition_key}: watermark ${r.watermark ?? 0} of ${r.head_seq}, ` +
      `${r.n_out} out, ${r.n_acked} acked above it, lease ${r.lease_owner ? `${r.lease_owner.slice(0, 8)} ${r.lease_ms} ms` : "none"}`,
  );
}
