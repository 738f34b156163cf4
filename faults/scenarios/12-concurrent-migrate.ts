// A fleet starting at once against an empty database: N processes each run
// the project's migrator, then start a queue and publish and consume one
// message. Exactly one may apply the migrations (the others wait on the
// migration lock and find nothing to do), every process must start and exit
// 0, and the migrations table must hold each migration once. The database is
// made next to the given one (empty, or not there at all) and dropped after.
import { readFileSync } from "node:fs";
import path from "node:path";
import { MIGRATIONS_FOLDER } from "@/db/migrate";
import { faultScenario, type Harness } from "@/faults/harness/harness";
import { siblingDatabase } from "@/faults/harness/server";
import type { ChildLine } from "@/faults/proc/lines";
import type { ScenarioOptions, ScenarioResult } from "@/faults/types";

const NAME = "12-concurrent-migrate";
const PROCESSES = 4;
const PROCESS_TIMEOUT_MS = 90_000;

async function startOne(h: Harness, url: string, index: number) {
  const run = await h.procs.runToEnd(
    `migrate-${index}`,
    { script: "migrate-and-start", args: [JSON.stringify({ url, index })] },
    PROCESS_TIMEOUT_MS,
  );
  const booted = run.lines.find((l): l is Extract<ChildLine, { t: "booted" }> => l.t === "booted");
  const why = run.inTime ? run.why : `${run.why}\nstill running after ${PROCESS_TIMEOUT_MS} ms; killed`;
  return { code: run.exit.code, booted, why };
}

function journalSize(): number {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function round(h: Harness, opts: ScenarioOptions, n: number, problems: string[]) {
  const admin = await h.admin();
  const db = siblingDatabase(opts.databaseUrl, `mig${n}`);
  // Half the rounds find the database made but empty, half find no database at all.
  const precreated = n % 2 === 0;
  if (precreated) await admin.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  try {
    const outcomes = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => startOne(h, db.url, i)));
    const where = `round ${n} (${precreated ? "empty database" : "no database"})`;
    let started = 0;
    const appliers: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.code === 0 && o.booted) started++;
      else problems.push(`${where}: process ${i} exited ${o.code} without starting: ${o.why}`);
      if ((o.booted?.applied ?? 0) > 0) appliers.push(i);
    });
    const expected = journalSize();
    if (appliers.length !== 1)
      problems.push(
        `${where}: ${appliers.length} processes applied migrations (${appliers.join(", ")}), not exactly one`,
      );
    for (const i of appliers) {
      const applied = outcomes[i]?.booted?.applied;
      if (applied !== expected) problems.push(`${where}: process ${i} applied ${applied} of ${expected} migrations`);
    }
    const hashes = await admin.query<{ hash: string; n: number }>(
      `SELECT hash, COUNT(*) AS n FROM \`${db.name}\`.__drizzle_migrations GROUP BY hash`,
    );
    const repeated = hashes.filter((r) => Number(r.n) !== 1);
    if (hashes.length !== expected || repeated.length > 0)
      problems.push(
        `${where}: the migrations table has ${hashes.length} distinct migrations (want ${expected}), ${repeated.length} recorded more than once`,
      );
    return { published: PROCESSES, started };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${db.name}\``);
  }
}

async function run(h: Harness, opts: ScenarioOptions): Promise<ScenarioResult> {
  const problems: string[] = [];
  let published = 0;
  let delivered = 0;
  let rounds = 0;
  // At least one round of each kind: an empty database and none at all.
  do {
    const r = await round(h, opts, rounds, problems);
    rounds++;
    published += r.published;
    delivered += r.started;
    h.log(`round ${rounds}: ${r.started} of ${r.published} processes started`);
  } while (rounds < 2 || Date.now() - h.startedAt < opts.durationMs);
  return h.result([], { published, counts: { delivered, lost: published - delivered }, faults: rounds, problems });
}

export default faultScenario({
  name: NAME,
  title: `${PROCESSES} processes start at once on an empty database: exactly one applies the migrations, all start and exit 0, each migration is recorded once`,
  run,
});
