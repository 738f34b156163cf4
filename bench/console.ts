// Console benchmark: seeds 1,000,000 messages and 100,000 DLQ rows, then
// times the library calls each console page makes (the same calls the tRPC
// procedures make), ~20 times each, and prints p50/p99 per call. Anything
// over 300 ms on the server is flagged. The throwaway database is dropped at
// the end, also on error or Ctrl-C.
//
//   npm run bench:console     (BENCH_MYSQL_URL overrides mysql://root@127.0.0.1:3306/;
//                              BENCH_DLQ_PER_PARTITION=20000 seeds 1,000,000 DLQ rows instead of 100,000)
import type mysql from "mysql2/promise";
import { createDb } from "@/db/client";
import { PipelineStore } from "@/server/pipeline/store";
import { createQueue, type Queue } from "@/server/queue";
import { viewPayload } from "@/server/trpc/payload-view";
import { messageId, partitionKey, reasonFor, refreshLiveness, SEED, seedConsoleData } from "./console-seed";
import { explainStatement, statementFor } from "./console-sql";
import { createBenchDatabase, dropOnSignal, percentile } from "./lib";

const SETTINGS = {
  server: process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/",
  repetitions: Number(process.env.BENCH_REPETITIONS ?? 20),
  budgetMs: 300,
  /** BENCH_KEEP_DB=1 keeps the seeded database for EXPLAINs by hand (drop it yourself). */
  keep: process.env.BENCH_KEEP_DB === "1",
  /** BENCH_SEED_ONLY=1 seeds and stops (with BENCH_KEEP_DB=1: a database to investigate). */
  seedOnly: process.env.BENCH_SEED_ONLY === "1",
  pageSize: 50,
} as const;

interface Timed {
  page: string;
  call: string;
  p50: number;
  p99: number;
  max: number;
  note?: string;
}

/** Times `fn(i)` for i = 0..repetitions-1 after one untimed warm-up call. */
async function time(page: string, call: string, fn: (i: number) => Promise<unknown>): Promise<Timed> {
  await fn(-1);
  const ms: number[] = [];
  let note: string | undefined;
  for (let i = 0; i < SETTINGS.repetitions; i++) {
    const start = performance.now();
    const result = await fn(i);
    ms.push(performance.now() - start);
    if (i === 0) note = summarize(result);
  }
  ms.sort((a, b) => a - b);
  return { page, call, p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms.at(-1) ?? Number.NaN, note };
}

/** A word on what a call returned, so a fast call that found nothing stands out. */
function summarize(result: unknown): string | undefined {
  if (Array.isArray(result)) return `${result.length} rows`;
  if (typeof result === "number") return `= ${result}`;
  if (result && typeof result === "object") {
    const r = result as Record<string, unknown>;
    const totals = r.totals as { published: number; acked: number } | undefined;
    if (totals && Array.isArray(r.published)) {
      return `${r.published.length} minutes, ${totals.published} published, ${totals.acked} acked`;
    }
    for (const k of ["rows", "messages", "partitions", "subscribers", "topics"]) {
      const v = r[k];
      if (Array.isArray(v)) return `${v.length} ${k}${"scanned" in r ? `, scanned ${r.scanned}` : ""}`;
    }
  }
  return undefined;
}

/** A different partition and seq per repetition, so no call just re-reads one cached row. */
const pick = (i: number) => ({
  p: (Math.abs(i) * 17) % SEED.partitionsPerTopic,
  seq: 1 + ((Math.abs(i) * 997) % 4_000),
});

async function timeEverything(queue: Queue, store: PipelineStore, pool: mysql.Pool): Promise<Timed[]> {
  const out: Timed[] = [];
  const add = async (page: string, call: string, fn: (i: number) => Promise<unknown>) => {
    await refreshLiveness(pool);
    const t = await time(page, call, fn);
    out.push(t);
    const flag = t.p99 > SETTINGS.budgetMs ? "  <-- over 300 ms" : "";
    console.log(
      `${page.padEnd(10)} ${call.padEnd(58)} p50 ${t.p50.toFixed(1).padStart(7)} ms  p99 ${t.p99
        .toFixed(1)
        .padStart(7)} ms  ${(t.note ?? "").padEnd(26)}${flag}`,
    );
  };
  const limit = SETTINGS.pageSize;
  const dlq = SEED.dlqTopic;

  // Overview: queue.overview = listTopics + listSubscribers + countBuildsByStatus, in parallel.
  await add("overview", "queue.overview (all three below, in parallel)", () =>
    Promise.all([queue.inspect.listTopics(), queue.inspect.listSubscribers(), store.countBuildsByStatus()]),
  );
  await add("overview", "inspect.listTopics()", () => queue.inspect.listTopics());
  await add("overview", "store.countBuildsByStatus()", () => store.countBuildsByStatus());
  await add("overview", "queue.sparklines: trafficSparklines() (last hour)", () => queue.inspect.trafficSparklines());

  // Topic page: header (queue.topic = listTopics), partitions, messages by state, detail.
  await add("topic", 'listPartitions("orders", first page)', () => queue.inspect.listPartitions("orders", { limit }));
  await add("topic", 'listPartitions("orders", after "p024")', () =>
    queue.inspect.listPartitions("orders", { after: partitionKey(24), limit }),
  );
  for (const state of ["all", "ready", "in_flight", "retrying", "deferred", "done"] as const) {
    await add("topic", `listMessages("orders", billing, ${state})`, () =>
      queue.inspect.listMessages("orders", { group: "billing", state, limit }),
    );
  }
  await add("topic", 'listMessages("orders", shipping, ready)', () =>
    queue.inspect.listMessages("orders", { group: "shipping", state: "ready", limit }),
  );
  await add("topic", 'listMessages("emails", notifier, deferred)', () =>
    queue.inspect.listMessages("emails", { group: "notifier", state: "deferred", limit }),
  );
  await add("topic", `listMessages("${SEED.quietTopic}", no group, all): quiet topic`, () =>
    queue.inspect.listMessages(SEED.quietTopic, { group: null, state: "all", limit }),
  );
  await add("topic", 'listMessages("payments", no group, all, page 2)', async () => {
    const first = await queue.inspect.listMessages("payments", { group: null, state: "all", limit });
    return queue.inspect.listMessages("payments", { group: null, state: "all", before: first.next ?? 1, limit });
  });
  await add("topic", 'listMessages("orders", billing, ready, partition)', (i) =>
    queue.inspect.listMessages("orders", {
      group: "billing",
      state: "ready",
      partitionKey: partitionKey(pick(i).p),
      limit,
    }),
  );
  // Topic page charts (queue.traffic) over the seeded day of rollups.
  await add("topic", 'traffic("orders", billing, 1h)', () =>
    queue.inspect.traffic("orders", { group: "billing", range: "1h" }),
  );
  await add("topic", 'traffic("orders", billing, 24h)', () =>
    queue.inspect.traffic("orders", { group: "billing", range: "24h" }),
  );
  await add("topic", 'traffic("orders", every group, 24h)', () => queue.inspect.traffic("orders", { range: "24h" }));
  await add("message", "getMessage + decoded payload", async (i) => {
    const { p, seq } = pick(i);
    const m = await queue.inspect.getMessage("orders", partitionKey(p), seq);
    if (!m) throw new Error(`no message orders/${partitionKey(p)}#${seq}`);
    return viewPayload(m.payload);
  });

  // Deferred page.
  await add("deferred", "listDeferred(every topic)", () => queue.inspect.listDeferred({ limit }));
  await add("deferred", 'listDeferred("emails", page 2)', async () => {
    const first = await queue.inspect.listDeferred({ topic: "emails", limit });
    return queue.inspect.listDeferred({ topic: "emails", after: first.next ?? undefined, limit });
  });

  // DLQ page.
  await add("dlq", "listDlqTopics()", () => queue.inspect.listDlqTopics());
  await add("dlq", "listDlq(no filter)", () => queue.inspect.listDlq({ topic: dlq }, { limit }));
  await add("dlq", "listDlq(no filter, page 2)", async () => {
    const first = await queue.inspect.listDlq({ topic: dlq }, { limit });
    return queue.inspect.listDlq({ topic: dlq }, { before: first.next ?? undefined, limit });
  });
  await add("dlq", "dlqFailureGroups()", () => queue.inspect.dlqFailureGroups(dlq));
  await add("dlq", 'dlqFailureGroups(search "timeout")', () =>
    queue.inspect.dlqFailureGroups({ topic: dlq, search: "timeout" }),
  );
  await add("dlq", 'dlqFailureGroups(search "order 104016")', () =>
    queue.inspect.dlqFailureGroups({ topic: dlq, search: reasonFor(4016).slice(0, 12) }),
  );
  await add("dlq", 'listDlq(search "timeout": common text)', () =>
    queue.inspect.listDlq({ topic: dlq, search: "timeout" }, { limit }),
  );
  // reasonFor(4016) is "order 104016 not found": one row, in a group of 12,500 that the search must read.
  await add("dlq", 'listDlq(search "order 104016": rare text)', () =>
    queue.inspect.listDlq({ topic: dlq, search: reasonFor(4016).slice(0, 12) }, { limit }),
  );
  await add("dlq", "listDlq(search an id: one match)", (i) => {
    const { p, seq } = pick(i);
    return queue.inspect.listDlq({ topic: dlq, search: messageId("orders", p, 1 + ((seq * 7) % 5_000)) }, { limit });
  });
  await add("dlq", 'listDlq(search "no such error": no match)', () =>
    queue.inspect.listDlq({ topic: dlq, search: "no such error" }, { limit }),
  );
  await add("dlq", "listDlq(failureGroup)", () =>
    queue.inspect.listDlq({ topic: dlq, failureGroup: "order <n> not found" }, { limit }),
  );
  await add("dlq", "listDlq(originalGroup shipping)", () =>
    queue.inspect.listDlq({ topic: dlq, originalGroup: "shipping" }, { limit }),
  );
  await add("dlq", "countDlq(no filter)", () => queue.inspect.countDlq({ topic: dlq }));
  await add("dlq", "countDlq(failureGroup)", () =>
    queue.inspect.countDlq({ topic: dlq, failureGroup: "order <n> not found" }),
  );
  await add("dlq", 'countDlq(search "timeout")', () => queue.inspect.countDlq({ topic: dlq, search: "timeout" }));
  await add("dlq", 'countDlq(search "order 104016")', () =>
    queue.inspect.countDlq({ topic: dlq, search: reasonFor(4016).slice(0, 12) }),
  );
  await add("dlq", "countDlq(search an id)", (i) => {
    const { p, seq } = pick(i);
    return queue.inspect.countDlq({ topic: dlq, search: messageId("orders", p, 1 + ((seq * 7) % 5_000)) });
  });
  await add("dlq", "countDlq(originalGroup shipping)", () =>
    queue.inspect.countDlq({ topic: dlq, originalGroup: "shipping" }),
  );
  await add("dlq", "getDeadLetter + decoded payload", async (i) => {
    const { p, seq } = pick(i);
    const d = await queue.inspect.getDeadLetter(dlq, partitionKey(p), 1 + (seq % SEED.dlqPerPartition));
    if (!d) throw new Error("no dead letter");
    return viewPayload(d.payload);
  });
  await add("dlq", "listJobs(10)", () => queue.inspect.listJobs(10));
  await add("dlq", `traffic("${dlq}", 24h): inflow`, () => queue.inspect.traffic(dlq, { range: "24h" }));

  // Workers page.
  await add("workers", "listSubscribers()", () => queue.inspect.listSubscribers());
  return out;
}

async function explainSlow(pool: mysql.Pool, slow: Timed[]): Promise<void> {
  if (slow.length === 0) return;
  console.log("\nThe statements behind the slow calls (the library's own SQL):");
  for (const t of slow) {
    const statement = await statementFor(pool, t.call);
    console.log(`\n${t.page} ${t.call}`);
    if (!statement) {
      console.log("  (no statement on file for this call)");
      continue;
    }
    for (const line of await explainStatement(pool, statement)) console.log(line);
  }
}

async function main() {
  const started = performance.now();
  const name = `sluice_bench_console_${process.pid}`;
  const db = await createBenchDatabase(SETTINGS.server, name, 4);
  const dropOnce = dropOnSignal(db);
  const pool = db.raw;
  let queue: Queue | undefined;
  try {
    console.log(`Console benchmark on ${name} (MariaDB/MySQL at ${SETTINGS.server.replace(/:[^:@/]*@/, ":***@")})`);
    console.log("Seeding:");
    const seedStart = performance.now();
    await seedConsoleData(pool, (line) => console.log(line));
    console.log(`  seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    if (SETTINGS.seedOnly) return;

    queue = createQueue({ url: db.url });
    const store = new PipelineStore(createDb(pool));
    console.log(
      `\nTiming (${SETTINGS.repetitions} repetitions each after a warm-up, page size ${SETTINGS.pageSize}, budget ${SETTINGS.budgetMs} ms):`,
    );
    const results = await timeEverything(queue, store, pool);
    const slow = results.filter((r) => r.p99 > SETTINGS.budgetMs);
    console.log(
      `\n${slow.length === 0 ? "Every call" : `${results.length - slow.length} of ${results.length} calls`} answered within ${SETTINGS.budgetMs} ms at p99.`,
    );
    for (const s of slow)
      console.log(`  over budget: ${s.page} ${s.call}: p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`);
    await explainSlow(pool, slow);
    if (slow.length > 0) process.exitCode = 1;
  } finally {
    await queue?.close().catch(() => undefined);
    if (SETTINGS.keep) {
      await pool.end().catch(() => undefined);
      console.log(`Kept ${name}: DROP DATABASE \`${name}\` when done.`);
    } else await dropOnce();
  }
  console.log(`Total time ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
