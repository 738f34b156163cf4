// Publish rate against raw INSERTs of the same rows: one message per call vs
// one autocommit INSERT per row, and 1,000 messages per call vs 100-row
// INSERT statements. Raw and library runs alternate in rounds, so a load
// that drifts during the run (a shared machine) weighs on both alike. Each
// pair stops at its deadline and is measured over what it got through.
import { createQueue } from "@/server/queue";
import { type BenchDatabase, printTable } from "./lib";
import { fix2, inChunks, int, message, SETTINGS, secs, times } from "./queue-common";
import { createRawLog, rawInsert } from "./queue-raw";
import { recordTarget } from "./queue-targets";

interface RateRow {
  label: string;
  /** Messages (rows) the run was meant to send. */
  planned: number;
  /** Sent before the deadline. */
  count: number;
  seconds: number;
  /** The raw row this one is compared with. */
  baseline?: RateRow;
}

const rate = (r: RateRow) => r.count / r.seconds;

/** Rounds per raw/library pair. */
const ROUNDS = 4;
/**
 * Calls each side makes, untimed, before the rounds: the library's pool opens
 * its connection and its code gets compiled there, as the raw side's pool and
 * code did in the sections before (timing them would charge the library a
 * cold start the raw side never pays).
 */
const WARMUP_CALLS = 50;

type Send = (from: number, count: number) => Promise<void>;

/** `planned` rows sent `size` per call by `raw` and by `lib`, alternating in rounds; each timed on its own. */
async function pair(
  labels: [string, string],
  planned: number,
  sizes: [number, number],
  raw: Send,
  lib: Send,
): Promise<[RateRow, RateRow]> {
  const rows = labels.map((label) => ({ label, planned, count: 0, seconds: 0 }));
  const sends = [raw, lib];
  const perRound = Math.ceil(planned / ROUNDS / Math.max(...sizes)) * Math.max(...sizes);
  // Warm-up rows come after the planned ones: the timed rounds' ids stay fresh.
  for (const [i, send] of sends.entries()) {
    const size = sizes[i] as number;
    await inChunks(WARMUP_CALLS * size, size, (f, k) => send(planned + f, k));
  }
  const deadline = performance.now() + SETTINGS.publishDeadlineMs;
  for (let from = 0; from < planned && performance.now() < deadline; from += perRound) {
    const n = Math.min(perRound, planned - from);
    for (const [i, row] of rows.entries()) {
      const send = sends[i] as Send;
      const start = performance.now();
      row.count += await inChunks(n, sizes[i] as number, (f, k) => send(from + f, k), deadline);
      row.seconds += (performance.now() - start) / 1000;
    }
  }
  const [rawRow, libRow] = rows as [RateRow, RateRow];
  return [rawRow, { ...libRow, baseline: rawRow }];
}

export async function benchPublish(db: BenchDatabase): Promise<RateRow[]> {
  const { singleCount, batchCount, publishBatch, rawBatchRows, partitions } = SETTINGS;
  await createRawLog(db);
  const queue = createQueue({ url: db.url });
  try {
    const publishMany = (topic: string, prefix: string) => (from: number, count: number) =>
      queue.publisher.publish(
        topic,
        Array.from({ length: count }, (_, k) => message(prefix, from + k, partitions)),
      );
    const single = await pair(
      ["raw INSERT, 1 row, autocommit", "publish(), 1 message per call"],
      singleCount,
      [1, 1],
      (f, n) => rawInsert(db.raw, "raw.single", f, n),
      publishMany("bench.publish.single", "s"),
    );
    const batch = await pair(
      [`raw INSERT, ${rawBatchRows} rows per statement`, `publish(), ${int(publishBatch)} messages per call`],
      batchCount,
      [rawBatchRows, publishBatch],
      (f, n) => rawInsert(db.raw, "raw.batch", f, n),
      publishMany("bench.publish.batch", "b"),
    );
    return [...single, ...batch];
  } finally {
    await queue.close();
  }
}

export function printPublish(rows: RateRow[]) {
  printTable(
    `Publish rate (one publisher, serial calls; after ${WARMUP_CALLS} untimed calls each, raw and publish() alternate in ${ROUNDS} rounds)`,
    ["", "messages", "seconds", "msg/s", "vs raw"],
    rows.map((r) => {
      const ratio = r.baseline ? times(rate(r) / rate(r.baseline)) : "base";
      const count = r.count < r.planned ? `${int(r.count)} of ${int(r.planned)}` : int(r.count);
      return [r.label, count, fix2(r.seconds), int(rate(r)), ratio];
    }),
  );
  const cut = rows.filter((r) => r.count < r.planned);
  if (cut.length > 0) {
    console.log(
      `   deadline ${secs(SETTINGS.publishDeadlineMs)} per pair reached by: ${cut.map((r) => r.label).join("; ")}`,
    );
  }
  const [, single, , batch] = rows;
  for (const [id, row, goal] of [
    ["publishSingle", single, 0.8],
    ["publishBatch", batch, 0.7],
  ] as const) {
    if (!row?.baseline) continue;
    const ratio = rate(row) / rate(row.baseline);
    recordTarget(id, `${times(ratio)} (${int(rate(row))} vs ${int(rate(row.baseline))}/s)`, ratio >= goal);
  }
}
