// Settles (ack, nack, reject) written in batches. While one flush is in
// flight the next settles gather; when it ends, everything gathered goes in
// one transaction of two round trips: (1) lock the group-partition rows (one
// statement, primary-key order, so two flushes never deadlock on them) and
// read which deliveries still belong to the attempts being settled; (2) write
// every settle in one statement, move the watermarks, commit. A lone settle
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

export const deliveryExpired = () =>
  new QueueError("DELIVERY_EXPIRED", "this delivery's visibility timeout passed and the message was delivered again");

const OUTCOME = { ack: AttemptOutcome.acked, nack: AttemptOutcome.nacked, dead: AttemptOutcome.deadLettered } as const;

const refKey = (r: PartitionRef) => JSON.stringify([r.group, r.topic, r.partitionKey]);
const deliveryKey = (r: PartitionRef, seq: number) => `${refKey(r)}#${seq}`;

/**
 * Writes `requests` in the caller's transaction. Returns, per request, what
 * was written or the error it fails with. `finish` sends the last statements
 * (in a transaction of our own, together with COMMIT) and returns their results.
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
  const [locked, live] = (await c.script([
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
  ])) as [
    Array<LockRow & { consumer_group: string; topic: string; partition_key: string }>,
    Array<{ consumer_group: string; topic: string; partition_key: string; seq: number; attempts: number }>,
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
  const refetched = new Map<string, Refetch>();
  for (const r of requests) {
    const ok = attempts.get(deliveryKey(r.ref, r.seq)) === r.attempt && watermarks.has(refKey(r.ref));
    results.push(ok ? {} : deliveryExpired());
    if (!ok) continue;
    if (r.refetch && r.kind !== "nack") refetched.set(refKey(r.ref), r.refetch);
    else if (r.probe && r.kind !== "nack") probed.set(refKey(r.ref), r.probe);
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
  // With a refetch the attempt rows are written once the next batch is known: its opened rows and these closed ones in one statement.
  const statements: Statement[] = refetched.size > 0 ? [] : attemptsStatement([], closes);
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
  // Where each probed partition's answer, and each refetched partition's ready rows, will be among the results.
  const probeAt = new Map<string, number>();
  const readAt = new Map<string, number>();
  for (const [key, ref] of finished) {
    const current = watermarks.get(key) ?? 0;
    statements.push(...advanceWatermark(ref, current));
    const refetch = refetched.get(key);
    if (refetch) {
      readAt.set(key, statements.length);
      statements.push(readyRowsStatement(ref, refetch.opts.batchSize));
    } else {
      const release = probed.get(key);
      if (release) {
        probeAt.set(key, statements.length);
        statements.push(...settleProbe(ref, current, release));
      }
    }
  }
  if (refetched.size === 0) {
    attachProbes(requests, results, probeAt, await finish(statements));
    return results;
  }
  // A third round trip: the settles and the next batches' reads first, then the batches handed out and COMMIT.
  const startedMono = performance.now();
  const out = await c.script(statements);
  attachProbes(requests, results, probeAt, out);
  const last: Statement[] = [];
  let closesLeft = closes;
  const batches = new Map<string, FetchedRow[]>();
  for (const [key, at] of readAt) {
    const ref = finished.get(key) as PartitionRef;
    const refetch = refetched.get(key) as Refetch;
    const sorted = sortReady(ref, lockRows.get(key), out[at] as RawRow[], refetch.owner, refetch.opts);
    // Anything but rows to hand out (nothing ready, a row to dead-letter, the lease
    // gone): the subscriber's own fetch deals with it, as it would have without this.
    if (sorted.kind !== "rows" || sorted.dead.length > 0 || sorted.rows.length === 0) continue;
    last.push(
      ...handOutStatements(
        [{ ref, rows: sorted.rows }],
        [...closesLeft, ...sorted.closed],
        refetch.owner,
        refetch.opts,
      ),
    );
    closesLeft = [];
    batches.set(key, sorted.rows);
  }
  last.push(...attemptsStatement([], closesLeft));
  await finish(last);
  requests.forEach((r, i) => {
    const rows = batches.get(refKey(r.ref));
    const result = results[i];
    if (r.refetch && rows && result && !(result instanceof QueueError)) result.fetched = { rows, startedMono };
  });
  return results;
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
