// Per consumer group and partition: the lease, the watermark and the delivery
// rows above it. Every change to a partition's delivery rows happens in a
// transaction that first locks the group-partition row (FOR UPDATE), so
// fetches, settles and watermark moves of one partition never interleave.
import { DeliveryState } from "@/db/schema";
import { type Executor, NOW_MS, type Statement } from "./db";
import { appendDeadLetters, type DeadLetterRow } from "./dlq-counts";
import { countTraffic } from "./rollup";

export interface PartitionRef {
  group: string;
  topic: string;
  partitionKey: string;
}

export interface DlqSettings {
  enabled: boolean;
  topicSuffix: string;
}

/** What a DLQ move needs to know of the failed row. */
export interface FailedRow {
  seq: number;
  logId: number;
  messageId: string;
  payload: Buffer;
  metadata: Record<string, string>;
}

const REF = "consumer_group = ? AND topic = ? AND partition_key = ?";
const refParams = (r: PartitionRef) => [r.group, r.topic, r.partitionKey];

/** Key order of partitions: every transaction that locks several group-partition rows takes them in it. */
export function compareRefs(a: PartitionRef, b: PartitionRef): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return cmp(a.group, b.group) || cmp(a.topic, b.topic) || cmp(a.partitionKey, b.partitionKey);
}

/**
 * The columns LockRow reads from a group-partition row aliased `gp`: its
 * watermark, whether the lease is held and unexpired, and whether the group
 * is paused (its queue_groups row, read here so that a fetch or a settle
 * learns it without a statement of its own).
 */
export const LOCK_COLUMNS = `gp.watermark, gp.lease_owner, gp.lease_expires_at >= ${NOW_MS} AS lease_valid,
  (SELECT q.paused_at IS NOT NULL FROM queue_groups q WHERE q.consumer_group = gp.consumer_group AND q.topic = gp.topic) AS paused`;

/** Locks the group-partition row and reads LOCK_COLUMNS. */
function lockStatement(ref: PartitionRef): Statement {
  return {
    sql: `SELECT ${LOCK_COLUMNS} FROM queue_group_partitions gp WHERE ${REF} FOR UPDATE`,
    params: refParams(ref),
  };
}

/**
 * Locks the group-partition rows of several partitions of one group and
 * topic in one statement, in the index's order (the order every transaction
 * that locks several of them takes them in), and reads LOCK_COLUMNS with each
 * row's partition key. A partition with no row is absent from the result.
 */
export function lockManyStatement(group: string, topic: string, partitionKeys: string[]): Statement {
  return {
    sql: `SELECT gp.partition_key, ${LOCK_COLUMNS} FROM queue_group_partitions gp
          WHERE gp.consumer_group = ? AND gp.topic = ? AND gp.partition_key IN (${partitionKeys.map(() => "?").join(", ")})
          ORDER BY gp.partition_key FOR UPDATE`,
    params: [group, topic, ...partitionKeys],
  };
}

export type LockRow = {
  watermark: number;
  lease_owner: string | null;
  lease_valid: number | null;
  paused: number | null;
};

export async function lockGroupPartition(
  c: Executor,
  ref: PartitionRef,
): Promise<{ watermark: number; leaseOwner: string | null; leaseValid: boolean } | undefined> {
  const { sql, params } = lockStatement(ref);
  const [row] = await c.query<LockRow>(sql, params);
  if (!row) return undefined;
  return { watermark: Number(row.watermark), leaseOwner: row.lease_owner, leaseValid: row.lease_valid === 1 };
}

/**
 * Rows above `current` that the group has still to finish: not acked or
 * dead for it, and not addressed to another group. The rule the watermark
 * and the idle marks share. Parameters: unfinishedParams.
 *
 * The index is forced: with `ORDER BY m.seq LIMIT 1` (the watermark scan)
 * MariaDB 10.11 otherwise reads the index as a ref on (topic, partition_key)
 * from the partition's first row and filters `seq > ?` row by row (index
 * condition pushdown), so each settle cost grew with the rows already
 * consumed below the watermark: 90,000 index entries looked at with the
 * watermark at 90,000, 1 with the index forced (a range read from `current`).
 * Draining a 100,000-deep partition slowed as it went
 * (tests/queue/backlog-cost.test.ts counts the index reads).
 */
const UNFINISHED_ROWS = `
  FROM queue_messages m FORCE INDEX (queue_messages_partition_seq)
  LEFT JOIN queue_deliveries d
    ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
  WHERE m.topic = ? AND m.partition_key = ? AND m.seq > ?
    AND (m.target_group IS NULL OR m.target_group = ?)
    AND (d.seq IS NULL OR d.state = ${DeliveryState.inFlight})`;
/** When the first of UNFINISHED_ROWS is or becomes ready: its visible_after, or its delivery's visible_at if later. */
const NEXT_DUE = "SELECT MIN(GREATEST(m.visible_after, COALESCE(d.visible_at, 0)))";

const unfinishedParams = (ref: PartitionRef, current: number) => [
  ref.group,
  ref.topic,
  ref.partitionKey,
  current,
  ref.group,
];

/**
 * The one rule for "ready now": log row `m` may be handed to `group` (an SQL
 * expression) at this moment. Its publishAfter has passed, it is not meant
 * for another group, and the group's delivery row `d` (LEFT JOINed, so NULL
 * when never delivered) is absent or in flight with its visibility timeout
 * over (a nack's delay or an expired delivery). Rows at or below the
 * watermark are the caller's to exclude.
 */
export function readyNow(group: string): string {
  return `m.visible_after <= ${NOW_MS}
    AND (m.target_group IS NULL OR m.target_group = ${group})
    AND (d.seq IS NULL OR (d.state = ${DeliveryState.inFlight} AND d.visible_at <= ${NOW_MS}))`;
}

/** Lease row `alias` (of queue_group_partitions) is held by someone whose lease has not run out. */
export function leaseHeld(alias: string): string {
  return `${alias}.lease_owner IS NOT NULL AND ${alias}.lease_expires_at >= ${NOW_MS}`;
}

/**
 * Lease row `alias` (of queue_group_partitions; null for its bare columns) is
 * free to take: nobody holds it, or its lease has run out. The same rows as
 * NOT (leaseHeld), spelled positively so the optimizer has no negation to
 * rewrite. `orHeldBy` (an SQL expression, usually "?") also lets through a
 * row that owner holds, so a subscriber renews or lists its own lease; its
 * parameter goes where the expression stands.
 */
export function leaseFree(alias: string | null, opts: { orHeldBy?: string } = {}): string {
  const col = (name: string) => (alias === null ? name : `${alias}.${name}`);
  const mine = opts.orHeldBy === undefined ? "" : ` OR ${col("lease_owner")} = ${opts.orHeldBy}`;
  return `(${col("lease_owner")} IS NULL${mine} OR ${col("lease_expires_at")} < ${NOW_MS})`;
}

/**
 * Rows of the partition this group has still to finish, ready now, in log
 * order, from just above the watermark. Joined to the group-partition row
 * (one row by primary key, which the optimizer reads first as a constant), so
 * the log is read as a range from the watermark up: the cost is the rows
 * looked at, not the depth of the partition. The index is forced for the
 * same reason as in UNFINISHED_ROWS: on a small log the optimizer read the
 * partition from its first row (2,037 index entries for a batch of 10 with
 * 2,000 rows consumed). Parameters: group, topic, key.
 */
export const READY_ROWS = `
  FROM queue_group_partitions g
  JOIN queue_messages m FORCE INDEX (queue_messages_partition_seq)
    ON m.topic = g.topic AND m.partition_key = g.partition_key AND m.seq > g.watermark
  LEFT JOIN queue_deliveries d
    ON d.consumer_group = g.consumer_group AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
  WHERE g.consumer_group = ? AND g.topic = ? AND g.partition_key = ?
    AND ${readyNow("g.consumer_group")}`;

/**
 * Delivery row `alias` is out with a subscriber that may still settle it: in
 * flight, owned (not a nack's delay), its visibility timeout not yet run out.
 * Rows of its partition after it wait (BLOCKING_IN_FLIGHT).
 */
export function outWithOwner(alias: string): string {
  return `${alias}.state = ${DeliveryState.inFlight} AND ${alias}.owner IS NOT NULL AND ${alias}.visible_at > ${NOW_MS}`;
}

/**
 * The first row still out with a subscriber: one whose lease this subscriber
 * took over (typically after a crash), or this subscriber's own delivery that
 * its process already counts as timed out while the database's clock does not
 * yet. Rows after it wait until it comes back, so the partition keeps its
 * order. Nacked rows have no owner: a nack delay lets later rows pass, as nack
 * means. Only rows above the watermark are looked at. Parameters: group, topic, key.
 */
export const BLOCKING_IN_FLIGHT = `
  SELECT MIN(x.seq) AS seq FROM queue_group_partitions g
  JOIN queue_deliveries x
    ON x.consumer_group = g.consumer_group AND x.topic = g.topic AND x.partition_key = g.partition_key AND x.seq > g.watermark
  WHERE g.consumer_group = ? AND g.topic = ? AND g.partition_key = ?
    AND ${outWithOwner("x")}`;

/**
 * Statements that move the watermark, whose value under the caller's lock is
 * `current`, up to just below the first row this group has not finished
 * (acked, dead, or addressed to another group), or to the partition's head
 * when there is none. The head is read first, into a session variable: seqs
 * commit in order (log.ts), so every row at or below it is visible to the
 * statement after, and no row below it can appear later. The first unfinished
 * row is found by a range read from `current` that stops at the first match.
 * Plain reads, no locks; the row is written only when the watermark moves, so
 * a fetch that moves nothing commits nothing to the log files. The caller
 * must hold the group-partition row's lock (FOR UPDATE).
 */
const HEAD = "SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?";

export function advanceWatermark(ref: PartitionRef, current: number): Statement[] {
  return [
    {
      // The head first, in a statement of its own: read after the unfinished rows (even in
      // the same statement) it could count a row committed in between that the scan missed,
      // and the watermark would pass it (the fault suite lost a message that way).
      sql: `SET @sluice_head = (${HEAD})`,
      params: [ref.topic, ref.partitionKey],
    },
    {
      sql: `SET @sluice_watermark = COALESCE((SELECT m.seq - 1 ${UNFINISHED_ROWS} ORDER BY m.seq LIMIT 1), @sluice_head, ?)`,
      params: [...unfinishedParams(ref, current), current],
    },
    {
      sql: `UPDATE queue_group_partitions SET watermark = @sluice_watermark, updated_at = ${NOW_MS}
            WHERE ${REF} AND watermark < @sluice_watermark`,
      params: refParams(ref),
    },
  ];
}

/**
 * The DLQ row for a delivery that failed for good, or undefined with the DLQ
 * off. Appended in the same transaction that marks the delivery dead, so the
 * message is never in zero places. Its dedup origin is the group and the
 * source row: a repeated move is a no-op rather than an error, and the same
 * id failing in another group, or again after a requeue, gets its own row.
 */
export function dlqRow(
  ref: PartitionRef,
  row: FailedRow,
  attempts: number,
  reason: string,
  dlq: DlqSettings,
): DeadLetterRow | undefined {
  if (!dlq.enabled) return undefined;
  return {
    topic: ref.topic + dlq.topicSuffix,
    partitionKey: ref.partitionKey,
    messageId: row.messageId,
    origin: `dlq:${ref.group}:${row.logId}`,
    payload: row.payload,
    metadata: row.metadata,
    delayMs: 0,
    failure: { reason, count: attempts, originalTopic: ref.topic, originalGroup: ref.group, originalSeq: row.seq },
  };
}

/**
 * Marks deliveries dead for this group (creating the delivery row if the row
 * was never delivered) and appends their DLQ rows, in the caller's
 * transaction. Other groups' delivery state is untouched.
 */
export async function markDead(
  c: Executor,
  dead: Array<{ ref: PartitionRef; row: FailedRow; attempts: number; reason: string; dlq: DlqSettings }>,
): Promise<void> {
  if (dead.length === 0) return;
  await c.execute(
    `INSERT INTO queue_deliveries
       (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at)
     VALUES ${dead.map(() => `(?, ?, ?, ?, ${DeliveryState.dead}, ?, 0, NULL, ?, ${NOW_MS}, ${NOW_MS})`).join(", ")}
     ON DUPLICATE KEY UPDATE state = VALUES(state), last_error = VALUES(last_error), owner = NULL, updated_at = VALUES(updated_at)`,
    dead.flatMap((x) => [...refParams(x.ref), x.row.seq, x.attempts, x.reason]),
  );
  for (const x of dead) countTraffic(c, x.ref.topic, x.ref.group, { deadLettered: 1 });
  const rows = dead.flatMap((x) => dlqRow(x.ref, x.row, x.attempts, x.reason, x.dlq) ?? []);
  await appendDeadLetters(c, rows);
}

/**
 * After a fetch found nothing ready (and advanceWatermark just ran): when the
 * partition can next have work for the group, the earliest time a row above
 * the watermark that the group has still to finish becomes ready (a deferred
 * row's visible_after, an in-flight or nacked row's visible_at), and the head
 * that holds for (`@sluice_head`). Columns: head, idle_until, due_in (ms from
 * now), all on the database's clock.
 */
export function idleProbe(ref: PartitionRef, current: number): Statement {
  return {
    sql: `SELECT @sluice_head AS head, x.idle_until, CAST(x.idle_until AS SIGNED) - CAST(${NOW_MS} AS SIGNED) AS due_in
          FROM (${NEXT_DUE} AS idle_until ${UNFINISHED_ROWS}) x`,
    params: unfinishedParams(ref, current),
  };
}

/** What a settle learned of its partition once the watermark moved (settleProbe). */
export interface PartitionProbe {
  /** The partition's head when the settle ran. */
  head: number;
  /** A row is ready for the group now. */
  ready: boolean;
  /** Some row above the watermark is out with a subscriber (its own or another's). */
  out: boolean;
  /** ms until the next row the group has still to finish is due (0: ready now); null if none. */
  dueInMs: number | null;
  /**
   * The settle gave the lease back (ProbeRelease): nothing was left for the
   * group, or nothing due within the keep time. Whoever held it drops the partition.
   */
  released: boolean;
}

/** Who gives the lease back when a settle's probe finds the partition has nothing due soon, as a fetch would. */
export interface ProbeRelease {
  owner: string;
  /** Keep the lease when a row is due within this, ms (FetchOptions.keepIdleLeaseMs). */
  keepIdleLeaseMs: number;
}

type ProbeRow = { head: number | null; idle_until: number | null; now: number; out_owned: number };

/**
 * Run right after advanceWatermark for a partition whose last delivery out
 * is being settled: when its next row the group has still to finish is or
 * becomes ready (a row is ready now exactly when that time has come), and
 * whether a row is still out with a subscriber. With that the subscriber
 * waits for the due time instead of fetching again just to learn it (the
 * build poll loop: ack one poll, the next is due in 2 s), and the partition
 * gets the idle marks a fetch that found nothing would leave. With nothing
 * due within the keep time (a drained partition) the lease goes back here,
 * with those marks, as a fetch that found nothing ready would give it back:
 * the fetch (three round trips and a commit per drained partition) is not
 * needed to learn it. Flat on purpose: an earlier form with derived tables
 * cost more to plan than to run. The minimum reads every unfinished row
 * above the watermark, so a settle runs it only when its read of the next
 * batch found nothing ready (settle.ts), where a fetch would read the same
 * rows for its idle probe. The first statement's result is the probe (toProbe).
 */
export function settleProbe(ref: PartitionRef, current: number, release: ProbeRelease): Statement[] {
  // The lease goes back when nothing is due within the keep time, judged against the SELECT's
  // clock reading (as toProbe judges it). Assignments run left to right, so the expiry is
  // cleared while lease_owner still says whose it was.
  const giveBack = "@sluice_idle IS NULL OR @sluice_idle > @sluice_probed_at + ?";
  return [
    {
      sql: `SELECT @sluice_head AS head,
              (@sluice_idle := (${NEXT_DUE} ${UNFINISHED_ROWS})) AS idle_until,
              (@sluice_probed_at := ${NOW_MS}) AS now,
              EXISTS(SELECT 1 FROM queue_deliveries x WHERE ${REF} AND x.seq > ?
                       AND x.state = ${DeliveryState.inFlight} AND x.owner IS NOT NULL) AS out_owned`,
      params: [...unfinishedParams(ref, current), ...refParams(ref), current],
    },
    {
      // The idle marks, as a fetch that found nothing ready leaves them: the ready scan
      // skips the partition until then (or until its head moves), whoever holds it.
      sql: `UPDATE queue_group_partitions
            SET lease_expires_at = IF(lease_owner = ? AND (${giveBack}), NULL, lease_expires_at),
                lease_owner = IF(lease_owner = ? AND (${giveBack}), NULL, lease_owner),
                idle_until = @sluice_idle, idle_head = @sluice_head
            WHERE ${REF} AND (@sluice_idle > ${NOW_MS} OR (@sluice_idle IS NULL AND lease_owner = ?))`,
      params: [
        release.owner,
        release.keepIdleLeaseMs,
        release.owner,
        release.keepIdleLeaseMs,
        ...refParams(ref),
        release.owner,
      ],
    },
  ];
}

/** The probe's answer; `release`: what the settle was asked to give back (settleProbe). */
export function toProbe(rows: unknown, release: ProbeRelease): PartitionProbe | undefined {
  const row = (rows as ProbeRow[] | undefined)?.[0];
  if (!row || row.head === null) return undefined;
  const due = row.idle_until === null ? null : Number(row.idle_until) - Number(row.now);
  return {
    head: Number(row.head),
    ready: due !== null && due <= 0,
    out: Number(row.out_owned) === 1,
    dueInMs: due === null ? null : Math.max(0, due),
    released: due === null || due > release.keepIdleLeaseMs,
  };
}

/**
 * Gives the lease of a partition with nothing ready back, with its idle
 * marks: the ready scan skips it until `idleUntil` unless the head moves past
 * `idleHead`, so a partition of deferred rows costs nothing meanwhile.
 */
export function releaseIdle(ref: PartitionRef, owner: string, idleUntil: number | null, idleHead: number): Statement {
  return {
    sql: `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL,
            idle_until = ?, idle_head = ?, updated_at = ${NOW_MS}
          WHERE ${REF} AND lease_owner = ?`,
    params: [idleUntil, idleHead, ...refParams(ref), owner],
  };
}

/**
 * The idle marks a lease given back leaves (assignments on a
 * queue_group_partitions row). With nothing above the watermark the
 * partition is marked idle until its head moves, as a fetch that found it
 * drained leaves it. With rows left the marks go, so the scans between full
 * scans list it for whoever takes it next (leases.ts), rather than only the
 * next full scan finding it.
 */
export const RELEASE_MARKS = `idle_until = NULL,
  idle_head = IF(watermark >= (SELECT rp.head_seq FROM queue_partitions rp
    WHERE rp.topic = queue_group_partitions.topic AND rp.partition_key = queue_group_partitions.partition_key), watermark, NULL)`;

export function releaseStatement(ref: PartitionRef, owner: string): Statement {
  return {
    sql: `UPDATE queue_group_partitions SET lease_owner = NULL, lease_expires_at = NULL, ${RELEASE_MARKS}, updated_at = ${NOW_MS}
          WHERE ${REF} AND lease_owner = ?`,
    params: [...refParams(ref), owner],
  };
}

export async function releaseLease(c: Executor, ref: PartitionRef, owner: string): Promise<void> {
  const { sql, params } = releaseStatement(ref, owner);
  await c.execute(sql, params);
}

/** Clears the idle marks of every group on these partitions: something made their rows ready early (an operator). */
export function clearIdle(topic: string, partitionKeys: string[]): Statement {
  return {
    sql: `UPDATE queue_group_partitions SET idle_until = NULL, idle_head = NULL
          WHERE consumer_group IN (SELECT consumer_group FROM queue_groups WHERE topic = ?)
            AND topic = ? AND partition_key IN (?)`,
    params: [topic, topic, partitionKeys],
  };
}

export const deliveryWhere = `${REF} AND seq = ? AND attempts = ? AND state = ${DeliveryState.inFlight}`;
export const deliveryParams = (ref: PartitionRef, seq: number, attempt: number) => [...refParams(ref), seq, attempt];
