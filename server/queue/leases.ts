// Finding partitions with work, taking and renewing leases, heartbeats.
// An idle subscriber sends one scan per poll and a few statements per lease
// renewal, however many partitions the topic has ever had: drained partitions
// hold no lease, so there is nothing per partition to renew.
import { type Executor, NOW_MS, type Statement, type WriteResult } from "./db";
import { leaseFree, leaseHeld, RELEASE_MARKS } from "./partition-state";

export interface SubscriberIdentity {
  instanceId: string;
  subscriberName: string;
  group: string;
  topic: string;
}

/** Most partitions one scan looks at. */
export const SCAN_LIMIT = 1000;

export interface ScannedPartition {
  partitionKey: string;
  leaseOwner: string | null;
  leased: boolean;
  /** The partition's last sequence number handed out. */
  head: number;
}

export interface ScanResult {
  /**
   * Partitions that may have a row ready for this group now and that nobody
   * else holds: unleased ones, ones whose lease expired, and this
   * subscriber's own (whose head it compares with what it last saw). A
   * changes-only scan lists only those of them that changed lately.
   */
  partitions: ScannedPartition[];
  /**
   * Partitions of the topic whose lease for the group is held and unexpired,
   * by anyone: the busy ones. Null after a changes-only scan, which does not count.
   */
  leasedCount: number | null;
  /**
   * How long until the next deferred row of a partition nobody holds becomes
   * visible, ms on the database's clock, when that is within `horizonMs`;
   * null otherwise. (A held partition's holder comes back for it at its due
   * time itself; a later one the next scan finds.)
   */
  nextDueInMs: number | null;
  /** When the scan ran, ms on the database's clock. */
  scannedAt: number;
  /**
   * Live subscribers of the group (heartbeat within `liveWithinMs`), this one
   * among them: at least 1. Read in the same statement, so a subscriber that
   * finds partitions to take knows its share without another round trip.
   */
  live: number;
}

/**
 * Whether partition row `p` (queue_partitions), LEFT JOINed to this group's
 * row `g`, may have a row ready for the group now, and may be taken by the
 * scanning subscriber: its head is above the watermark, unless its idle mark
 * (set when a fetch or a settle found nothing ready) says nothing is due
 * before then and nothing was published since (a column compare, no look at
 * its rows); nobody else holds it. (Whether the group is paused the scan reads
 * once, in a row of its own.) Parameter: the scanning subscriber's instance id.
 */
const MAY_BE_READY = `p.head_seq > COALESCE(g.watermark, 0)
        AND (g.idle_until IS NULL OR g.idle_until <= ${NOW_MS} OR p.head_seq > g.idle_head)
        AND ${leaseFree("g", { orHeldBy: "?" })}`;

const PARTITION_COLUMNS = `'p', p.partition_key, g.lease_owner, (${leaseHeld("g")}), p.head_seq, NULL`;

/**
 * The scan's partition rows. A full scan reads every partition of the topic.
 * A changes-only scan (`publishedSince`, database clock ms) reads, through
 * their indexes, only the partitions that can have become ready since the
 * scan before: published to since then (a publish moves the head), never
 * marked idle (claimed and being worked, new to the group, given back with
 * rows left, its offset reset), or whose idle mark has come due. Any other
 * way a partition becomes ready (a lease that runs out, a resumed group, a
 * publish whose transaction committed long after its statement ran) waits for
 * the next full scan. A partition may come from more than one branch.
 */
function partitionBranches(id: SubscriberIdentity, publishedSince: number | undefined): Statement[] {
  // Driven by the topic's partitions, each joined to the group's row (absent for a partition new to the group).
  const fromPartitions = (hint: string, where: string, whereParams: unknown[]): Statement => ({
    sql: `SELECT ${PARTITION_COLUMNS}
          FROM queue_partitions p ${hint}
          LEFT JOIN queue_group_partitions g
            ON g.consumer_group = ? AND g.topic = p.topic AND g.partition_key = p.partition_key
          WHERE p.topic = ? ${where} AND ${MAY_BE_READY}
          LIMIT ${SCAN_LIMIT}`,
    params: [id.group, id.topic, ...whereParams, id.instanceId],
  });
  if (publishedSince === undefined) return [fromPartitions("", "", [])];
  // Driven by the group's rows, through one of their indexes.
  const fromGroupRows = (index: string, where: string): Statement => ({
    sql: `SELECT ${PARTITION_COLUMNS}
          FROM queue_group_partitions g FORCE INDEX (${index})
          JOIN queue_partitions p ON p.topic = g.topic AND p.partition_key = g.partition_key
          WHERE g.consumer_group = ? AND g.topic = ? AND ${where} AND ${MAY_BE_READY}
          LIMIT ${SCAN_LIMIT}`,
    params: [id.group, id.topic, id.instanceId],
  });
  return [
    fromPartitions("FORCE INDEX (queue_partitions_published)", "AND p.last_published_at >= ?", [publishedSince]),
    fromGroupRows("queue_group_partitions_unmarked", "g.idle_head IS NULL"),
    fromGroupRows("queue_group_partitions_due", `g.idle_until <= ${NOW_MS}`),
  ];
}

/**
 * Partitions of the topic that may have a row ready for this group now (see
 * MAY_BE_READY and partitionBranches), the number of partitions held (full
 * scans only), and when the next deferred row in a partition nobody holds is
 * due. One statement, one round trip.
 *
 * Partitions another subscriber holds are counted, not listed: a busy
 * subscriber's scan returns what it may take, not the topic. The next-due
 * time is read from the (topic, visible_after) index within `horizonMs` only
 * (the subscriber scans again by then anyway), skipping rows of held
 * partitions.
 */
export async function scanReadyPartitions(
  c: Executor,
  id: SubscriberIdentity,
  horizonMs: number,
  opts: { publishedSince?: number; liveWithinMs: number },
): Promise<ScanResult> {
  const full = opts.publishedSince === undefined;
  // The union's first rows carry the scan's time, whether the group is paused, the next-due time,
  // the live subscribers and (full scans) the lease count (kinds 'n', 'q', 'd', 'l' and 'c'), then
  // the partitions (kind 'p').
  const live = liveCount(id, opts.liveWithinMs);
  const branches: Statement[] = [
    {
      sql: `SELECT 'n' AS kind, NULL AS partition_key, NULL AS lease_owner, 0 AS leased, NULL AS head, ${NOW_MS} AS n`,
    },
    {
      // A paused group gets nothing from a scan: no partitions, no due time.
      sql: `SELECT 'q', NULL, NULL, 0, NULL, COUNT(*) FROM queue_groups
            WHERE consumer_group = ? AND topic = ? AND paused_at IS NOT NULL`,
      params: [id.group, id.topic],
    },
    {
      sql: `SELECT 'd', NULL, NULL, 0, NULL, CAST(m.visible_after AS SIGNED) - CAST(${NOW_MS} AS SIGNED)
            FROM queue_messages m FORCE INDEX (queue_messages_topic_visible)
            LEFT JOIN queue_group_partitions dg
              ON dg.consumer_group = ? AND dg.topic = m.topic AND dg.partition_key = m.partition_key
            WHERE m.topic = ? AND m.visible_after > ${NOW_MS} AND m.visible_after <= ${NOW_MS} + ?
              AND ${leaseFree("dg")}
            ORDER BY m.visible_after LIMIT 1`,
      params: [id.group, id.topic, horizonMs],
    },
    { sql: `SELECT 'l', NULL, NULL, 0, NULL, (${live.sql})`, params: live.params },
    ...(full
      ? [
          {
            sql: `SELECT 'c', NULL, NULL, 0, NULL, COUNT(*)
                  FROM queue_group_partitions c
                  WHERE c.consumer_group = ? AND c.topic = ? AND ${leaseHeld("c")}`,
            params: [id.group, id.topic],
          },
        ]
      : []),
    ...partitionBranches(id, opts.publishedSince),
  ];
  const rows = await c.query<{
    kind: "n" | "q" | "d" | "l" | "c" | "p";
    partition_key: string | null;
    lease_owner: string | null;
    leased: number;
    head: number | null;
    n: number | null;
  }>(
    branches.map((b) => `(${b.sql})`).join("\n UNION ALL\n"),
    branches.flatMap((b) => b.params ?? []),
  );
  const paused = Number(rows.find((r) => r.kind === "q")?.n ?? 0) > 0;
  const dueIn = paused ? null : rows.find((r) => r.kind === "d")?.n;
  const partitions = new Map<string, ScannedPartition>();
  for (const r of rows) {
    if (paused || r.kind !== "p" || r.partition_key === null) continue;
    partitions.set(r.partition_key, {
      partitionKey: r.partition_key,
      leaseOwner: r.lease_owner,
      leased: Number(r.leased) === 1,
      head: Number(r.head),
    });
  }
  return {
    partitions: [...partitions.values()],
    leasedCount: full ? Number(rows.find((r) => r.kind === "c")?.n ?? 0) : null,
    nextDueInMs: dueIn == null ? null : Math.max(0, Number(dueIn)),
    scannedAt: Number(rows.find((r) => r.kind === "n")?.n),
    live: Math.max(1, Number(rows.find((r) => r.kind === "l")?.n ?? 1)),
  };
}

/**
 * Statements that lease the given partitions of a group and topic to
 * `owner` where nobody else holds them (creating the group's row for a
 * partition new to it), run at the start of the fetch that reads them
 * (fetchBatches): the fetch's lock statement then reads who won each.
 * Keys in index order, as every statement that locks several
 * group-partition rows takes them.
 */
export function claimStatements(
  group: string,
  topic: string,
  owner: string,
  partitionKeys: string[],
  leaseDurationMs: number,
): Statement[] {
  if (partitionKeys.length === 0) return [];
  const keys = [...partitionKeys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [
    {
      sql: `INSERT INTO queue_group_partitions (consumer_group, topic, partition_key, watermark, updated_at)
            VALUES ${keys.map(() => `(?, ?, ?, 0, ${NOW_MS})`).join(", ")}
            ON DUPLICATE KEY UPDATE updated_at = updated_at`,
      params: keys.flatMap((k) => [group, topic, k]),
    },
    {
      sql: `UPDATE queue_group_partitions
            SET lease_owner = ?, lease_expires_at = ${NOW_MS} + ?, updated_at = ${NOW_MS}
            WHERE consumer_group = ? AND topic = ? AND partition_key IN (${keys.map(() => "?").join(", ")})
              AND ${leaseFree(null, { orHeldBy: "?" })}`,
      params: [owner, leaseDurationMs, group, topic, ...keys, owner],
    },
  ];
}

export async function registerSubscriber(c: Executor, id: SubscriberIdentity, host: string, pid: number) {
  await c.execute(
    `INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES (?, ?, ${NOW_MS})
     ON DUPLICATE KEY UPDATE created_at = created_at`,
    [id.group, id.topic],
  );
  await c.execute(
    `INSERT INTO queue_subscribers (instance_id, subscriber_name, consumer_group, topic, host, pid, started_at, heartbeat_at)
     VALUES (?, ?, ?, ?, ?, ?, ${NOW_MS}, ${NOW_MS})
     ON DUPLICATE KEY UPDATE heartbeat_at = VALUES(heartbeat_at)`,
    [id.instanceId, id.subscriberName, id.group, id.topic, host.slice(0, 255), pid],
  );
}

/**
 * Heartbeat and, for a subscriber holding leases, their renewal and the
 * number of live subscribers in the group (which decides whether it holds
 * more than its share): one round trip. An idle subscriber holds nothing, so
 * its heartbeat is one statement; it counts the live ones when it claims.
 * Returns the live count, or undefined when not asked.
 */
export async function heartbeat(
  c: Executor,
  id: SubscriberIdentity,
  leaseDurationMs: number,
  host: string,
  pid: number,
  holdsLeases: boolean,
): Promise<number | undefined> {
  const statements: Statement[] = [
    { sql: `UPDATE queue_subscribers SET heartbeat_at = ${NOW_MS} WHERE instance_id = ?`, params: [id.instanceId] },
  ];
  if (holdsLeases) {
    statements.push(
      {
        sql: `UPDATE queue_group_partitions SET lease_expires_at = ${NOW_MS} + ?, updated_at = ${NOW_MS}
              WHERE lease_owner = ? AND consumer_group = ? AND topic = ?`,
        params: [leaseDurationMs, id.instanceId, id.group, id.topic],
      },
      liveCount(id, leaseDurationMs),
    );
  }
  const [beat, , live] = (await c.script(statements)) as [WriteResult, unknown, Array<{ n: number }> | undefined];
  if (beat.affectedRows === 0) await registerSubscriber(c, id, host, pid);
  return live ? Math.max(1, Number(live[0]?.n ?? 1)) : undefined;
}

/** Live subscribers of the group: a heartbeat within `withinMs`. */
const liveCount = (id: SubscriberIdentity, withinMs: number): Statement => ({
  sql: `SELECT COUNT(*) AS n FROM queue_subscribers
        WHERE consumer_group = ? AND topic = ? AND heartbeat_at >= ${NOW_MS} - ?`,
  params: [id.group, id.topic, withinMs],
});

export async function unregister(c: Executor, id: SubscriberIdentity): Promise<void> {
  await c.execute(
    `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, ${RELEASE_MARKS}, updated_at = ${NOW_MS}
     WHERE lease_owner = ? AND consumer_group = ? AND topic = ?`,
    [id.instanceId, id.group, id.topic],
  );
  await c.execute("DELETE FROM queue_subscribers WHERE instance_id = ?", [id.instanceId]);
}
