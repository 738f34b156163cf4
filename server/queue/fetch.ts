// One fetch of a leased partition: lock the group-partition row, check the
// lease is still ours, read the next ready rows with the rows this group has
// already finished filtered out *in SQL* (so the LIMIT window can never fill
// up with finished rows and stall the partition), dead-letter the ones whose
// last visibility timeout used up their attempts, and mark the rest in flight.
// Every read starts at the watermark, so its cost does not grow with the
// backlog behind it or the history below it.
import { AttemptOutcome, DeliveryState } from "@/db/schema";
import { type AttemptClose, type AttemptOpen, attemptsStatement } from "./attempts";
import { NOW_MS, type QueueDb, type Statement } from "./db";
import { claimStatements } from "./leases";
import {
  advanceWatermark,
  BLOCKING_IN_FLIGHT,
  compareRefs,
  type DlqSettings,
  idleProbe,
  type LockRow,
  lockManyStatement,
  markDead,
  type PartitionRef,
  READY_ROWS,
  releaseIdle,
  releaseStatement,
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
  /** Numbers this fetch's attempt row (queue_attempts.fetch_no). */
  fetchNo: number;
  failure?: { reason: string; failureCount: number; failedAt: number; originalTopic: string; consumerGroup: string };
}

export type FetchResult =
  | { kind: "lost" }
  /** Nothing ready; the lease was given back. */
  | { kind: "drained" }
  /** Nothing ready yet; the lease is kept because a row is due in `dueInMs` (database clock). */
  | { kind: "idle"; dueInMs: number; head: number }
  | { kind: "rows"; rows: FetchedRow[] };

export type RawRow = {
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
  fetches: number | null;
  owner: string | null;
  d_visible_at: number | null;
  blocking: number | null;
};

export function parseMetadata(raw: string | null): Record<string, string> {
  if (!raw) return {};
  const v: unknown = JSON.parse(raw);
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, string>) : {};
}

export interface FetchOptions {
  batchSize: number;
  visibilityTimeoutMs: number;
  maxAttempts: number;
  dlq: DlqSettings;
  /** Keep the lease of a partition with nothing ready when its next row is due within this, ms. */
  keepIdleLeaseMs: number;
  /** Recorded in the attempt rows, beside the owner's instance id. */
  subscriberName: string;
}

type Probe = { head: number; idle_until: number | null; due_in: number | null };

/** Partitions whose lease a fetch takes before it reads them (claimStatements). */
export interface FetchClaim {
  partitionKeys: string[];
  leaseDurationMs: number;
}

/**
 * Fetches a batch from each of several partitions of one group and topic
 * whose leases `owner` holds, or takes first (`claim`), in one transaction of
 * two round trips (three when some partition has nothing ready): (1) begin,
 * lease the claimed partitions, lock every group-partition row in one
 * statement (key order), and per partition find the first blocking in-flight
 * row and read the ready rows; (2) mark every fetched row in flight in one
 * statement (dead-lettering the ones whose last visibility timeout used up
 * their attempts, giving empty partitions back) and commit. One commit, and
 * so one log flush, for the lot. A claimed partition someone else holds comes
 * back "lost".
 */
export async function fetchBatches(
  db: QueueDb,
  refs: PartitionRef[],
  owner: string,
  opts: FetchOptions,
  claim: FetchClaim = { partitionKeys: [], leaseDurationMs: 0 },
): Promise<FetchResult[]> {
  if (refs.length === 0) return [];
  // Partitions are read in key order; the lock statement takes their rows in the index's
  // order, as every transaction that locks several group-partition rows does.
  const order = refs.map((_, i) => i).sort((x, y) => compareRefs(refs[x] as PartitionRef, refs[y] as PartitionRef));
  const first = refs[0] as PartitionRef;
  if (refs.some((r) => r.group !== first.group || r.topic !== first.topic)) {
    throw new Error("fetchBatches: every partition must be of one group and topic");
  }
  const claiming = claimStatements(first.group, first.topic, owner, claim.partitionKeys, claim.leaseDurationMs);
  return db.tx(async (c) => {
    const [locked, ...ready] = (
      await c.script([
        ...claiming,
        lockManyStatement(
          first.group,
          first.topic,
          order.map((i) => (refs[i] as PartitionRef).partitionKey),
        ),
        ...order.map((i) => readyRowsStatement(refs[i] as PartitionRef, opts.batchSize)),
      ])
    ).slice(claiming.length) as [Array<LockRow & { partition_key: string }>, ...RawRow[][]];
    const lockRows = new Map(locked.map((row) => [row.partition_key, row]));

    const results: FetchResult[] = refs.map(() => ({ kind: "lost" }) as const);
    const drained: Array<{ i: number; watermark: number }> = [];
    const fetched: Array<{ ref: PartitionRef; rows: FetchedRow[] }> = [];
    const dead: DeadRow[] = [];
    const deadIn = new Map<number, number>();
    const finalStatements: Statement[] = [];
    const closed: AttemptClose[] = [];
    order.forEach((i, k) => {
      const ref = refs[i] as PartitionRef;
      const sorted = sortReady(ref, lockRows.get(ref.partitionKey), ready[k] as RawRow[], owner, opts);
      switch (sorted.kind) {
        case "lost":
          return;
        case "paused":
          // Hand nothing out and give the lease back (idle marks untouched), so the
          // subscriber holds nothing and its scans skip the group until it is resumed.
          finalStatements.push(releaseStatement(ref, owner));
          results[i] = { kind: "drained" };
          return;
        case "blocked":
          // Ready rows waiting behind a row still out: keep the lease, try again next poll.
          results[i] = { kind: "rows", rows: [] };
          return;
        case "empty":
          // Nothing ready at all: the idle probe learns when the partition is next due (a
          // blocking row's timeout included).
          drained.push({ i, watermark: sorted.watermark });
          return;
        case "rows":
          closed.push(...sorted.closed);
          dead.push(...sorted.dead);
          if (sorted.dead.length > 0) deadIn.set(i, sorted.watermark);
          results[i] = { kind: "rows", rows: sorted.rows };
          fetched.push({ ref, rows: sorted.rows });
      }
    });

    if (drained.length > 0) {
      // Nothing ready: move the watermark over what was finished and learn when the partition is next due.
      const probes = await c.script(
        drained.flatMap(({ i, watermark }) => [
          ...advanceWatermark(refs[i] as PartitionRef, watermark),
          idleProbe(refs[i] as PartitionRef, watermark),
        ]),
      );
      drained.forEach(({ i, watermark }, k) => {
        const probe = (probes[4 * k + 3] as Probe[])[0];
        const head = Number(probe?.head ?? watermark);
        const dueIn = probe?.due_in == null ? null : Math.max(0, Number(probe.due_in));
        // Due soon: keep the lease and come back then, writing nothing.
        if (dueIn !== null && dueIn <= opts.keepIdleLeaseMs) {
          results[i] = { kind: "idle", dueInMs: dueIn, head };
          return;
        }
        const idleUntil = probe?.idle_until == null ? null : Number(probe.idle_until);
        finalStatements.push(releaseIdle(refs[i] as PartitionRef, owner, idleUntil, head));
        results[i] = { kind: "drained" };
      });
    }
    await markDead(c, dead);
    finalStatements.push(...handOutStatements(fetched, closed, owner, opts));
    for (const [i, watermark] of deadIn) finalStatements.push(...advanceWatermark(refs[i] as PartitionRef, watermark));
    await c.commitWith(finalStatements);
    return results;
  });
}

/**
 * A fetch's read of one partition: its first `batchSize` ready rows in log
 * order, with the first blocking in-flight row as a column (a constant
 * subquery, run once: with no ready rows it does not matter, since the idle
 * probe then waits for it too). Run under the group-partition row's lock.
 * `settling`: rows of the partition whose settle commits in the same
 * transaction (a settle that fetches the next batch reads it before it writes
 * the settles): they block nothing and are not read.
 */
export function readyRowsStatement(ref: PartitionRef, batchSize: number, settling: number[] = []): Statement {
  const key = [ref.group, ref.topic, ref.partitionKey];
  // A settled row whose visibility timeout ran out is ready by the clock: it must not come back.
  const except = (alias: string) =>
    settling.length > 0 ? ` AND ${alias}.seq NOT IN (${settling.map(() => "?").join(", ")})` : "";
  return {
    sql: `SELECT m.log_id, m.seq, m.message_id, m.payload, m.metadata, m.published_at, m.visible_after, ${NOW_MS} AS now,
                 m.failure_reason, m.failure_count, m.failed_at, m.original_topic, m.original_group,
                 d.attempts, d.last_error, d.fetches, d.owner, d.visible_at AS d_visible_at,
                 (${BLOCKING_IN_FLIGHT}${except("x")}) AS blocking
          ${READY_ROWS}${except("m")}
          ORDER BY m.seq LIMIT ?`,
    params: [...key, ...settling, ...key, ...settling, batchSize],
  };
}

type DeadRow = Parameters<typeof markDead>[1][number];

/** What sorting ready rows needs: when a row's attempts are used up, and where its dead letter goes. */
type SortOptions = Pick<FetchOptions, "maxAttempts" | "visibilityTimeoutMs" | "dlq">;

/** What a partition's locked row and ready rows (readyRowsStatement) make of a fetch by `owner`. */
export type SortedFetch =
  /** The lease is not `owner`'s (any more). */
  | { kind: "lost" }
  /** The group is paused. */
  | { kind: "paused" }
  /** Rows are ready but wait behind a row still out. */
  | { kind: "blocked" }
  | { kind: "empty"; watermark: number }
  /** Rows to hand out, and rows whose last visibility timeout used up their attempts. */
  | { kind: "rows"; watermark: number; rows: FetchedRow[]; dead: DeadRow[]; closed: AttemptClose[] };

export function sortReady(
  ref: PartitionRef,
  gp: LockRow | undefined,
  ready: RawRow[],
  owner: string,
  opts: SortOptions,
): SortedFetch {
  if (!gp || gp.lease_owner !== owner || Number(gp.lease_valid) !== 1) return { kind: "lost" };
  if (Number(gp.paused) === 1) return { kind: "paused" };
  const watermark = Number(gp.watermark);
  const blocking = ready[0]?.blocking;
  const below = blocking != null ? Number(blocking) : null;
  // Rows after a blocking one wait for it: the partition keeps its order.
  const raw = below === null ? ready : ready.filter((r) => Number(r.seq) < below);
  if (raw.length === 0) return ready.length > 0 ? { kind: "blocked" } : { kind: "empty", watermark };
  const rows: FetchedRow[] = [];
  const dead: DeadRow[] = [];
  const closed: AttemptClose[] = [];
  for (const r of raw) {
    const ended = expiredAttempt(r, ref);
    const failed = toFetched(r, ref, opts);
    if (ended) closed.push("dead" in failed ? { ...ended, reason: failed.dead.reason } : ended);
    if ("dead" in failed) dead.push(failed.dead);
    else rows.push(failed.row);
  }
  return { kind: "rows", watermark, rows, dead, closed };
}

/**
 * The statements that hand fetched rows out: each row's delivery marked in
 * flight for `owner` (one statement for them all), and the attempt rows opened
 * (and `closed` ones ended) in one more.
 */
export function handOutStatements(
  fetched: Array<{ ref: PartitionRef; rows: FetchedRow[] }>,
  closed: AttemptClose[],
  owner: string,
  opts: Pick<FetchOptions, "visibilityTimeoutMs" | "subscriberName">,
): Statement[] {
  const statements: Statement[] = [];
  const inFlight = fetched.flatMap(({ ref, rows }) => rows.map((r) => ({ ref, seq: r.seq })));
  if (inFlight.length > 0) {
    statements.push({
      sql: `INSERT INTO queue_deliveries
              (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at, fetches)
            VALUES ${inFlight.map(() => `(?, ?, ?, ?, ${DeliveryState.inFlight}, 1, ${NOW_MS} + ?, ?, NULL, ${NOW_MS}, ${NOW_MS}, 1)`).join(", ")}
            ON DUPLICATE KEY UPDATE attempts = attempts + 1, fetches = fetches + 1, state = VALUES(state), visible_at = VALUES(visible_at),
              owner = VALUES(owner), updated_at = VALUES(updated_at)`,
      params: inFlight.flatMap(({ ref, seq }) => [
        ref.group,
        ref.topic,
        ref.partitionKey,
        seq,
        opts.visibilityTimeoutMs,
        owner,
      ]),
    });
  }
  const opened: AttemptOpen[] = fetched.flatMap(({ ref, rows }) =>
    rows.map((r) => ({
      ref,
      seq: r.seq,
      fetchNo: r.fetchNo,
      attempt: r.attempt,
      owner,
      subscriberName: opts.subscriberName,
    })),
  );
  statements.push(...attemptsStatement(opened, closed));
  return statements;
}

/** A ready row as a delivery, or as a dead letter when its last visibility timeout used up its attempts. */
function toFetched(r: RawRow, ref: PartitionRef, opts: SortOptions): { row: FetchedRow } | { dead: DeadRow } {
  const metadata = parseMetadata(r.metadata);
  const previous = Number(r.attempts ?? 0);
  if (previous >= opts.maxAttempts) {
    const last = r.last_error ? ` (last error: ${r.last_error})` : "";
    const reason = `visibility timeout of ${opts.visibilityTimeoutMs} ms expired on attempt ${previous} of ${opts.maxAttempts}${last}`;
    const row = { seq: Number(r.seq), logId: Number(r.log_id), messageId: r.message_id, payload: r.payload, metadata };
    return { dead: { ref, row, attempts: previous, reason, dlq: opts.dlq } };
  }
  return {
    row: {
      logId: Number(r.log_id),
      seq: Number(r.seq),
      messageId: r.message_id,
      payload: r.payload,
      metadata,
      publishedAt: Number(r.published_at),
      visibleSince: Math.max(Number(r.published_at), Number(r.visible_after)),
      fetchedAt: Number(r.now),
      attempt: previous + 1,
      fetchNo: Number(r.fetches ?? 0) + 1,
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
    },
  };
}

/**
 * The attempt a ready row's previous fetch left open: a delivery still owned
 * by a subscriber that is ready again has outlived its visibility timeout
 * (a nack or a hand-back clears the owner). It ended at its visible_at.
 */
function expiredAttempt(r: RawRow, ref: PartitionRef): AttemptClose | undefined {
  if (r.owner === null || r.fetches === null || Number(r.fetches) === 0) return undefined;
  return {
    ref,
    seq: Number(r.seq),
    fetchNo: Number(r.fetches),
    attempt: Number(r.attempts ?? 0),
    outcome: AttemptOutcome.expired,
    reason: null,
    at: r.d_visible_at === null ? null : Number(r.d_visible_at),
  };
}
