// A fleet starting at once against an empty database: N processes each run
// the project's migrator, then start a queue and publish and consume one
// message. Exactly one may apply the migrations (the others wait on the
// migration lock and find nothing to do), every process must start and exit
// 0, and the migrations table must hold each migration once. The database is
// made next to the given one (empty, or not there at all) and dropped after.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import mysql from "mysql2/promise";
import { MIGRATIONS_FOLDER } from "../../db/migrate";
import { dropDatabase, siblingDatabase, withServer } from "../support/server";
import type { Scenario, ScenarioOptions, ScenarioResult } from "../types";

const PROCESSES = 4;
const CHILD = path.join(__dirname, "..", "proc", "migrate-and-start.ts");
const PROCESS_TIMEOUT_MS = 90_000;

interface Outcome {
  code: number | null;
  report?: { applied: number; migratedMs: number; started: boolean };
  stderr: string;
}

function startOne(url: string, index: number, children: Set<ChildProcess>): Promise<Outcome> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, url, String(index)], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: path.join(__dirname, "..", ".."),
  });
  children.add(child);
  let stderr = "";
  let report: Outcome["report"];
  child.stderr?.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-2_000);
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (l) => {
    try {
      report = JSON.parse(l) as Outcome["report"];
    } catch {
      stderr += `\nunexpected output: ${l}`;
    }
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\nstill running after ${PROCESS_TIMEOUT_MS} ms; killed`;
      child.kill("SIGKILL");
    }, PROCESS_TIMEOUT_MS);
    child.once("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, report, stderr });
    });
  });
}

function journalSize(): number {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function round(opts: ScenarioOptions, n: number, children: Set<ChildProcess>, problems: string[]) {
  const db = siblingDatabase(opts.databaseUrl, `mig${n}`);
  // Half the rounds find the database made but empty, half find no database at all.
  const precreated = n % 2 === 0;
  if (precreated)
    await withServer(opts.databaseUrl, (c) =>
      c.query(`CREATE DATABASE \`${db.name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
    );
  try {
    const outcomes = await Promise.all(Array.from({ length: PROCESSES }, (_, i) => startOne(db.url, i, children)));
    const where = `round ${n} (${precreated ? "empty database" : "no database"})`;
    let started = 0;
    const appliers: number[] = [];
    outcomes.forEach((o, i) => {
      if (o.code === 0 && o.report?.started) started++;
      else problems.push(`${where}: process ${i} exited ${o.code} without starting: ${o.stderr.trim().slice(-500)}`);
      if ((o.report?.applied ?? 0) > 0) appliers.push(i);
    });
    const expected = journalSize();
    if (appliers.length !== 1)
      problems.push(
        `${where}: ${appliers.length} processes applied migrations (${appliers.join(", ")}), not exactly one`,
      );
    for (const i of appliers) {
      const applied = outcomes[i]?.report?.applied;
      if (applied !== expected) problems.push(`${where}: process ${i} applied ${applied} of ${expected} migrations`);
    }
    const conn = await mysql.createConnection({ uri: db.url });
    try {
      const [rows] = await conn.query("SELECT hash, COUNT(*) AS n FROM __drizzle_migrations GROUP BY hash");
      const hashes = rows as Array<{ hash: string; n: number }>;
      const repeated = hashes.filter((h) => Number(h.n) !== 1);
      if (hashes.length !== expected || repeated.length > 0)
        problems.push(
          `${where}: the migrations table has ${hashes.length} distinct migrations (want ${expected}), ${repeated.length} recorded more than once`,
        );
    } finally {
      await conn.end();
    }
    return { published: PROCESSES, started };
  } finally {
    await dropDatabase(opts.databaseUrl, db.name);
  }
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult> {
  const began = performance.now();
  const log = opts.log ?? (() => {});
  const problems: string[] = [];
  const children = new Set<ChildProcess>();
  let published = 0;
  let delivered = 0;
  let rounds = 0;
  try {
    // At least one round of each kind: an empty database and none at all.
    do {
      const r = await round(opts, rounds, children, problems);
      rounds++;
      published += r.published;
      delivered += r.started;
      log(`round ${rounds}: ${r.started} of ${r.published} processes started`);
    } while (rounds < 2 || performance.now() - began < opts.durationMs);
  } finally {
    for (const c of children) c.kill("SIGKILL");
  }
  return {
    scenario: scenario.name,
    published,
    delivered,
    lost: published - delivered,
    unexpected: 0,
    duplicated: 0,
    orderViolations: 0,
    allowedDuplicates: 0,
    faults: rounds,
    ok: problems.length === 0,
    problems,
    durationMs: Math.round(performance.now() - began),
  };
}

const scenario: Scenario = {
  name: "12-concurrent-migrate",
  title: `${PROCESSES} processes start at once on an empty database: exactly one applies the migrations, all start and exit 0, each migration is recorded once`,
  run,
};

export default scenario;
