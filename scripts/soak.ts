// npm run soak -- [--minutes N] [--only SUBSTRING[,SUBSTRING...]]
// Runs every fault scenario in faults/scenarios (in name order), each on a
// fresh migrated database of its own, splitting the minutes evenly among them,
// then prints the verdicts as a Markdown table. Exits 1 if any is not ok.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import mysql from "mysql2/promise";
import { migrateDatabase } from "@/db/migrate";
import { redactUrl } from "@/db/url";
import { failedRow } from "@/faults/harness/result";
import type { Scenario, ScenarioResult } from "@/faults/types";

const SCENARIOS_DIR = path.join(__dirname, "..", "faults", "scenarios");

interface Args {
  minutes: number;
  only?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { minutes: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--minutes") {
      args.minutes = Number(value());
      if (!Number.isFinite(args.minutes) || args.minutes <= 0) throw new Error("--minutes must be a positive number");
    } else if (a === "--only") args.only = value();
    else if (a === "--help" || a === "-h") {
      console.log("usage: npm run soak -- [--minutes N (default 10)] [--only SUBSTRING[,SUBSTRING...]]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

async function loadScenario(file: string): Promise<Scenario> {
  const mod = (await import(path.join(SCENARIOS_DIR, file))) as { default?: unknown };
  // CommonJS interop may wrap the default export once more.
  let s = mod.default as { default?: unknown } | undefined;
  if (s && typeof (s as Partial<Scenario>).run !== "function" && s.default) s = s.default as typeof s;
  const scenario = s as Partial<Scenario> | undefined;
  if (!scenario || typeof scenario.run !== "function" || typeof scenario.name !== "string")
    throw new Error(`${file} has no default export shaped like a Scenario`);
  return scenario as Scenario;
}

function serverUrl(): string {
  return process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/";
}

async function dropDatabase(name: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: serverUrl() });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

async function runOne(file: string, durationMs: number): Promise<ScenarioResult> {
  const label = file.replace(/\.ts$/, "");
  const started = Date.now();
  const log = (line: string) => {
    const s = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    console.log(`[${label} ${s}s] ${line}`);
  };
  let scenario: Scenario;
  try {
    scenario = await loadScenario(file);
  } catch (err) {
    return failedRow(label, "could not run", err, { startedAt: started });
  }
  const dbName = `sluice_soak_${label.replace(/[^A-Za-z0-9]/g, "_")}_${randomBytes(3).toString("hex")}`.slice(0, 64);
  const url = new URL(dbName, serverUrl()).toString();
  try {
    log(`${scenario.title}`);
    log(`database ${redactUrl(url)}, traffic for ${(durationMs / 1000).toFixed(0)} s`);
    await migrateDatabase(url);
    const r = await scenario.run({ databaseUrl: url, durationMs, log });
    log(
      `${r.ok ? "ok" : "NOT OK"}: published ${r.published}, delivered ${r.delivered}, lost ${r.lost}, faults ${r.faults}`,
    );
    return r;
  } catch (err) {
    return failedRow(scenario.name, "could not run", err, { startedAt: started });
  } finally {
    await dropDatabase(dbName).catch((err: unknown) => log(`could not drop ${dbName}: ${String(err)}`));
  }
}

function table(results: ScenarioResult[]): string {
  const head = [
    "scenario",
    "published",
    "delivered",
    "lost",
    "unexpected",
    "duplicated (allowed)",
    "order violations",
    "faults",
    "time",
    "ok",
  ];
  const rows = results.map((r) => [
    r.scenario,
    String(r.published),
    String(r.delivered),
    String(r.lost),
    String(r.unexpected),
    `${r.duplicated} (${r.allowedDuplicates})`,
    String(r.orderViolations),
    String(r.faults),
    `${(r.durationMs / 1000).toFixed(0)} s`,
    r.ok ? "ok" : "**FAIL**",
  ]);
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const files = readdirSync(SCENARIOS_DIR)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .filter((f) => !args.only || args.only.split(",").some((part) => f.includes(part)))
    .sort();
  if (files.length === 0) {
    console.error(`no scenarios in ${SCENARIOS_DIR}${args.only ? ` matching "${args.only}"` : ""}`);
    process.exit(1);
  }
  const durationMs = Math.floor((args.minutes * 60_000) / files.length);
  console.log(`soak: ${files.length} scenarios, ${(durationMs / 1000).toFixed(0)} s of faults each`);
  const results: ScenarioResult[] = [];
  for (const [i, file] of files.entries()) {
    console.log(`\n== ${i + 1}/${files.length} ${file}`);
    results.push(await runOne(file, durationMs));
  }
  console.log(`\n${table(results)}\n`);
  for (const r of results.filter((x) => !x.ok)) {
    console.log(`${r.scenario}:`);
    for (const p of r.problems) console.log(`  - ${p}`);
  }
  const bad = results.filter((r) => !r.ok).length;
  console.log(bad === 0 ? "all scenarios ok" : `${bad} of ${results.length} scenarios NOT ok`);
  process.exit(bad === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
