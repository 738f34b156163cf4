// The bench's builds: requesting them, waiting until every one runs, and
// reading their status counts and status calls.
import type mysql from "mysql2/promise";
import { NOW_MS_SQL } from "@/db/clock";
import { type Pipeline, requestBuild } from "@/server/pipeline";
import { query, queryOne, sleep } from "./lib";
import { int, secs } from "./pipeline-numbers";
import { QUEUE_NAME, REQUEST_CONCURRENCY, RUNNING_TIMEOUT_MS } from "./pipeline-settings";
import { checkAbort } from "./pipeline-state";

interface StatusRow {
  id: string;
  status: string;
  status_calls: number;
  now_ms: number;
}

export async function statusSnapshot(pool: mysql.Pool) {
  const rows = await query<StatusRow>(pool, `SELECT ${NOW_MS_SQL} AS now_ms, id, status, status_calls FROM builds`);
  return {
    atMs: Number(rows[0]?.now_ms ?? Number.NaN),
    byId: new Map(rows.map((r) => [r.id, { status: r.status, calls: Number(r.status_calls) }])),
  };
}

export async function requestBuilds(p: Pipeline, count: number): Promise<void> {
  let next = 0;
  const sha = Date.now().toString(16);
  await Promise.all(
    Array.from({ length: Math.min(REQUEST_CONCURRENCY, count) }, async () => {
      while (next < count) {
        checkAbort();
        const i = next++;
        await requestBuild(p.deps, {
          queue: QUEUE_NAME,
          base: [],
          head: [{ uris: [`github://bench/sluice/pull/${i + 1}/${sha}`] }],
          metadata: { bench: "pipeline" },
          requester: "bench",
        });
      }
    }),
  );
}

/** Why builds that are no longer running ended, from the runner's last answer. */
export async function describeFinished(pool: mysql.Pool): Promise<string> {
  const rows = await query<{ id: string; status: string; metadata: string }>(
    pool,
    "SELECT id, status, metadata FROM builds WHERE status NOT IN ('accepted', 'running') ORDER BY updated_at LIMIT 5",
  );
  return rows
    .map((r) => {
      let reason = "";
      try {
        reason = (JSON.parse(r.metadata) as Record<string, string>).reason ?? "";
      } catch {
        reason = r.metadata;
      }
      return `\n  ${r.id}: ${r.status}${reason ? ` (${reason})` : ""}`;
    })
    .join("");
}

async function statusCounts(pool: mysql.Pool): Promise<Record<string, number>> {
  const rows = await query<{ status: string; n: number }>(
    pool,
    "SELECT status, COUNT(*) AS n FROM builds GROUP BY status",
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Batches whose build row does not exist (yet). */
async function batchesWithoutBuild(pool: mysql.Pool): Promise<number> {
  const row = await queryOne<{ n: number }>(
    pool,
    "SELECT COUNT(*) AS n FROM batches b WHERE NOT EXISTS (SELECT 1 FROM builds x WHERE x.batch_id = b.id)",
  );
  return Number(row?.n ?? 0);
}

export const describeCounts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(", ") || "none yet";

/** Waits until every build is running; a build that ends (fails) or a timeout is an error. */
export async function waitAllRunning(pool: mysql.Pool, count: number, since: number): Promise<void> {
  let lastPrint = performance.now();
  for (;;) {
    checkAbort();
    const c = await statusCounts(pool);
    const ended = Object.entries(c).filter(([k]) => k !== "accepted" && k !== "running");
    if (ended.length > 0) {
      throw new Error(`builds ended while they should be running: ${describeCounts(c)}${await describeFinished(pool)}`);
    }
    if ((c.running ?? 0) >= count) return;
    const elapsed = performance.now() - since;
    if (elapsed > RUNNING_TIMEOUT_MS) {
      const missing = await batchesWithoutBuild(pool);
      throw new Error(
        `not every build was running after ${secs(RUNNING_TIMEOUT_MS)}: ${describeCounts(c)}, ${missing} batches without a build`,
      );
    }
    if (performance.now() - lastPrint >= 5_000) {
      const missing = await batchesWithoutBuild(pool);
      console.log(`   ${secs(elapsed)}: ${describeCounts(c)}; batches without a build row: ${int(missing)}`);
      lastPrint = performance.now();
    }
    await sleep(250);
  }
}
