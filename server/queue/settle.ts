// Settles (ack, nack, reject) written in batches. While one flush is in
// flight the next settles gather; when it ends, everything gathered goes in
// one transaction of two round trips: (1) lock the group-partition rows (one
// statement, primary-key order, so two flushes never deadlock on them), read
// which deliveries still belong to the attempts being settled, and the next
// batch of a partition the settle refetches; (2) write every settle in one
// statement, move the watermarks, hand the next batches out, commit. A lone settle
// goes out at once: there is no linger. A settle whose row changed underneath
// (its visibility timeout passed and it went to someone else) fails alone
// with DELIVERY_EXPIRED; the rest of its batch commits.
import { AttemptOutcome, DeliveryState } from "@/db/schema";
import { type AttemptClose, attemptsStatement } from "./attempts";
import { type Executor, NOW_MS, type QueueDb, type Statement } from "./db";
import { QueueError } from "./errors";
import {
  type FetchedRow,
  type FetchOptions,
  handOutStatements,
  type RawRow,
  readyRowsStatement,
  sortReady,
} from "./fetch";
import { Gatherer, type Waiting } from "./gather";
import {
  advanceWatermark,
  compareRefs,
  type DlqSettings,
  type FailedRow,
  LOCK_COLUMNS,
  type LockRow,
  markDead,
  type PartitionProbe,
  type PartitionRef,
  type ProbeRelease,
  settleProbe,
  toProbe,
} from "./partition-state";
import { countTraffic } from "./rollup";

export type SettleKind = "ack" | "nack" | "dead";

export interface SettleRequest {
  ref: PartitionRef;
  seq: number;
  attempt: number;
  /** The fetch that handed the delivery out: its attempt row gets the outcome. */
  fetchNo: number;
  kind: SettleKind;
  /** nack: how long until the row is visible again, ms. */
  delayMs?: number;
  /** nack and dead: kept as the delivery's last error (and the DLQ row's reason). */
  reason?: string;
  /** dead: what the DLQ row is made of. */
  failed?: FailedRow;
  dlq?: DlqSettings;
  /**
   * ack and dead: also learn what the partition holds next (settleProbe), for
   * a subscriber settling its last delivery out; with nothing due soon the
   * lease goes back in the same transaction (PartitionProbe.released).
   */
  probe?: ProbeRelease;
  /**
   * ack and dead: also fetch the partition's next batch for `owner`, in the
   * same transaction, for a subscriber settling the last delivery out of a
   * partition whose last fetch filled its batch (it would fetch again at once).
   */
  refetch?: Refetch;
}

/** Who fetches the next batch in a settle's transaction, and how (fetch.ts). */
export interface Refetch {
  owner: string;
  opts: Pick<FetchOptions, "batchSize" | "visibilityTimeoutMs" | "maxAttempts" | "dlq" | "subscriberName">;
}

/** A settle written, with what its partition holds next when it asked (SettleRequest.probe, SettleRequest.refetch). */
export interface Settled {
  probe?: PartitionProbe;
  /** The next batch, now in flight for the refetch's owner; fetchedAt: monotonic time before it was read. */
  fetched?: { rows: FetchedRow[]; startedMono: number };
}

/** Most settles one flush writes; the rest wait for the next. */
const MAX_FLUSH = 500;
/**
 * Settle flushes in flight at once. Two take turns on the database: while one
 * waits on its round trips and commit, the settles the other released gather
 * and go. Flushes lock the group-partition rows in key order, so two never deadlock.
 */
const FLUSHES_IN_FLIGHT = 2;

export const deliveryExpired = () =>
  new QueueError("DELIVERY_EXPIRED", "this delivery's visibility timeout passed and the message was delivered again");

const OUTCOME = { ack: AttemptOutcome.acked, nack: AttemptOutcome.nacked, dead: AttemptOutcome.deadLettered } as const;

const refKey = (r: PartitionRef) => JSON.stringify([r.group, r.topic, r.partitionKey]);
const deliveryKey = (r: PartitionRef, seq: number) => `${refKey(r)}#${seq}`;

/**
 * Writes `requests` in the caller's transaction. Returns, per request, what
 * was written or the error it fails with. `finish` sends the last statements
 * (in a transaction of our own, together with COMMIT) and returns their results.
 *
 * Two round trips, with or without a refetch: the next batch of a refetched
 * partition is read in the first, beside the locks, while the rows being
 * settled are still in flight (so not ready, and told not to block), and
 * handed out in the second with the settles. A partition with a nack in the
 * batch is not refetched: a nacked row may be due again at once, and the
 * subscriber's own fetch reads it after the nack is written.
 */
export async function writeSettles(
  c: Executor,
  requests: SettleRequest[],
  finish: (statements: Statement[]) => Promise<unknown[]> = (s) => c.script(s),
): Promise<Array<QueueError | Settled>> {
  const refs = new Map<string, PartitionRef>();
  for (const r of requests) refs.set(refKey(r.ref), r.ref);
  const sorted = [...refs.values()].sort(compareRefs);
  const partitionWhere = sorted.map(() => "(consumer_group = ? AND topic = ? AND partition_key = ?)").join(" OR ");
  const partitionParams = sorted.flatMap((r) => [r.group, r.topic, r.partitionKey]);
  const reads = refetchCandidates(requests);
  const startedMono = performance.now();
  const [locked, live, ...readyRows] = (await c.script([
    {
      // A fetch's lock columns: a refetch reads the lease and pause through sortReady as a fetch does.
      sql: `SELECT gp.consumer_group, gp.topic, gp.partition_key, ${LOCK_COLUMNS}
            FROM queue_group_partitions gp
            WHERE ${partitionWhere} ORDER BY consumer_group, topic, partition_key FOR UPDATE`,
      params: partitionParams,
    },
    {
      sql: `SELECT consumer_group, topic, partition_key, seq, attempts FROM queue_deliveries
            WHERE (${requests.map(() => "(consumer_group = ? AND topic = ? AND partition_key = ? AND seq = ?)").join(" OR ")})
              AND state = ${DeliveryState.inFlight}`,
      params: requests.flatMap((r) => [r.ref.group, r.ref.topic, r.ref.partitionKey, r.seq]),
    },
    ...reads.map((x) => readyRowsStatement(x.ref, x.refetch.opts.batchSize, x.settling)),
  ])) as [
    Array<LockRow & { consumer_group: string; topic: string; partition_key: string }>,
    Array<{ consumer_group: string; topic: string; partition_key: string; seq: number; attempts: number }>,
    ...RawRow[][],
  ];
  const lockRows = new Map<string, LockRow>();
  const watermarks = new Map<string, number>();
  for (const g of locked) {
    const key = refKey({ group: g.consumer_group, topic: g.topic, partitionKey: g.partition_key });
    lockRows.set(key, g);
    watermarks.set(key, Number(g.watermark));
  }
  const attempts = new Map<string, number>();
  for (const d of live) {
    const ref = { group: d.consumer_group, topic: d.topic, partitionKey: d.partition_key };
    attempts.set(deliveryKey(ref, Number(d.seq)), Number(d.attempts));
  }

  const results: Array<QueueError | Settled> = [];
  const updates: SettleRequest[] = [];
  const dead: Parameters<typeof markDead>[1] = [];
  const finished = new Map<string, PartitionRef>();
  const probed = new Map<string, ProbeRelease>();
  // Partitions with a settle that failed: its row is out with someone else, and the rows after it wait.
  const failed = new Set<string>();
  for (const r of requests) {
    const ok = attempts.get(deliveryKey(r.ref, r.seq)) === r.attempt && watermarks.has(refKey(r.ref));
    results.push(ok ? {} : deliveryExpired());
    if (!ok) {
      failed.add(refKey(r.ref));
      continue;
    }
    if (r.probe && r.kind !== "nack") probed.set(refKey(r.ref), r.probe);
    if (r.kind === "dead") {
      if (!r.failed || !r.dlq) throw new Error("a dead settle needs its failed row and DLQ settings");
      dead.push({ ref: r.ref, row: r.failed, attempts: r.attempt, reason: r.reason ?? "rejected", dlq: r.dlq });
    } else {
      updates.push(r);
      countTraffic(c, r.ref.topic, r.ref.group, r.kind === "ack" ? { acked: 1 } : { nacked: 1 });
    }
    if (r.kind !== "nack") finished.set(refKey(r.ref), r.ref);
  }
  await markDead(c, dead);

  // The next batches: sorted as a fetch sorts them. Anything but rows to hand out (nothing
  // ready, a row to dead-letter, the lease gone) is left to the subscriber's own fetch.
  const batches = new Map<
    string,
    { ref: PartitionRef; refetch: Refetch; rows: FetchedRow[]; closed: AttemptClose[] }
  >();
  reads.forEach((x, i) => {
    const key = refKey(x.ref);
    if (failed.has(key)) return;
    const next = sortReady(x.ref, lockRows.get(key), readyRows[i] ?? [], x.refetch.owner, x.refetch.opts);
    if (next.kind !== "rows" || next.dead.length > 0 || next.rows.length === 0) return;
    batches.set(key, { ref: x.ref, refetch: x.refetch, rows: next.rows, closed: next.closed });
  });

  const closes: AttemptClose[] = requests.flatMap((r, i) =>
    results[i] instanceof QueueError
      ? []
      : [
          {
            ref: r.ref,
            seq: r.seq,
            fetchNo: r.fetchNo,
            attempt: r.attempt,
            outcome: OUTCOME[r.kind],
            reason: r.kind === "ack" ? null : (r.reason ?? (r.kind === "nack" ? "nacked" : "rejected")),
            at: null,
          },
        ],
  );
  // The attempt rows: the settled ones closed first (ended at the same clock reading as a nack's
  // delay starts), or, when next batches are handed out, with theirs opened in the first hand-out.
  const statements: Statement[] = batches.size > 0 ? [] : attemptsStatement([], closes);
  if (updates.length > 0) {
    // One statement for every ack and nack: the rows exist (checked above,
    // under the partition locks), so each VALUES tuple only updates its row.
    statements.push({
      sql: `INSERT INTO queue_deliveries
              (consumer_group, topic, partition_key, seq, state, attempts, visible_at, owner, last_error, first_delivered_at, updated_at)
            VALUES ${updates.map(() => `(?, ?, ?, ?, ?, ?, ${NOW_MS} + ?, NULL, ?, ${NOW_MS}, ${NOW_MS})`).join(", ")}
            ON DUPLICATE KEY UPDATE
              visible_at = IF(VALUES(state) = ${DeliveryState.inFlight}, VALUES(visible_at), visible_at),
              last_error = COALESCE(VALUES(last_error), last_error),
              owner = NULL, state = VALUES(state), updated_at = VALUES(updated_at)`,
      params: updates.flatMap((r) => [
        r.ref.group,
        r.ref.topic,
        r.ref.partitionKey,
        r.seq,
        r.kind === "ack" ? DeliveryState.acked : DeliveryState.inFlight,
        r.attempt,
        r.kind === "nack" ? (r.delayMs ?? 0) : 0,
        r.kind === "nack" ? (r.reason ?? "nacked") : null,
      ]),
    });
  }
  // Where each probed partition's answer will be among the results.
  const probeAt = new Map<string, number>();
  for (const [key, ref] of finished) {
    const current = watermarks.get(key) ?? 0;
    statements.push(...advanceWatermark(ref, current));
    const release = probed.get(key);
    if (release && !batches.has(key)) {
      probeAt.set(key, statements.length);
      statements.push(...settleProbe(ref, current, release));
    }
  }
  // One hand-out per subscription (its owner and options), for all its partitions at once.
  const byOwner = new Map<
    string,
    { refetch: Refetch; fetched: Array<{ ref: PartitionRef; rows: FetchedRow[] }>; closed: AttemptClose[] }
  >();
  for (const b of batches.values()) {
    const mine = byOwner.get(b.refetch.owner) ?? { refetch: b.refetch, fetched: [], closed: [] };
    mine.fetched.push({ ref: b.ref, rows: b.rows });
    mine.closed.push(...b.closed);
    byOwner.set(b.refetch.owner, mine);
  }
  let closesLeft = closes;
  for (const { refetch, fetched, closed } of byOwner.values()) {
    statements.push(...handOutStatements(fetched, [...closesLeft, ...closed], refetch.owner, refetch.opts));
    closesLeft = [];
  }
  attachProbes(requests, results, probeAt, await finish(statements));
  requests.forEach((r, i) => {
    const batch = batches.get(refKey(r.ref));
    const result = results[i];
    if (r.refetch && batch && result && !(result instanceof QueueError)) {
      result.fetched = { rows: batch.rows, startedMono };
    }
  });
  return results;
}

/**
 * The partitions whose next batch a flush may fetch: one with a refetch asked
 * and no nack in the batch, with the rows the batch settles there
 * (readyRowsStatement's `settling`).
 */
function refetchCandidates(
  requests: SettleRequest[],
): Array<{ ref: PartitionRef; refetch: Refetch; settling: number[] }> {
  const out = new Map<string, { ref: PartitionRef; refetch: Refetch; settling: number[] }>();
  for (const r of requests) {
    if (r.refetch && r.kind !== "nack") out.set(refKey(r.ref), { ref: r.ref, refetch: r.refetch, settling: [] });
  }
  for (const r of requests) {
    const key = refKey(r.ref);
    if (r.kind === "nack") out.delete(key);
    else out.get(key)?.settling.push(r.seq);
  }
  return [...out.values()];
}

function attachProbes(
  requests: SettleRequest[],
  results: Array<QueueError | Settled>,
  probeAt: Map<string, number>,
  out: unknown[],
) {
  if (probeAt.size === 0) return;
  requests.forEach((r, i) => {
    const at = probeAt.get(refKey(r.ref));
    const result = results[i];
    if (r.probe && at !== undefined && result && !(result instanceof QueueError)) {
      result.probe = toProbe(out[at], r.probe);
    }
  });
}

/** One per queue: gathers settles while a flush is in flight and writes them together. */
export class SettleBatcher {
  private readonly gatherer: Gatherer<SettleRequest, Settled>;

  constructor(private readonly db: QueueDb) {
    this.gatherer = new Gatherer(
      (batch) => this.flush(batch),
      (waiting) => Math.min(waiting.length, MAX_FLUSH),
      FLUSHES_IN_FLIGHT,
    );
  }

  /** Resolves once the settle is committed; rejects with DELIVERY_EXPIRED (alone) or the flush's error. */
  settle(request: SettleRequest): Promise<Settled> {
    return this.gatherer.add(request);
  }

  private async flush(batch: Waiting<SettleRequest, Settled>[]) {
    let results: Array<QueueError | Settled>;
    try {
      results = await this.db.tx((c) =>
        writeSettles(
          c,
          batch.map((p) => p.item),
          (s) => c.commitWith(s),
        ),
      );
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const result = results[i] ?? {};
      if (result instanceof QueueError) p.reject(result);
      else p.resolve(result);
    });
  }
}
