// npm run db:check: fails when db/schema.ts and the committed migrations in
// db/migrations disagree. It runs `drizzle-kit generate` against a copy of the
// migrations folder: if generate would write a new migration, the schema has
// changes that no committed migration covers. Also checks that every journal
// entry has its .sql file and every .sql file is in the journal.
//
//   npm run db:check                         # db/schema.ts against db/migrations
//   tsx scripts/check-drift.ts --schema x.ts # another schema file (for tests of this script)
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const MIGRATIONS = path.join(ROOT, "db", "migrations");
const GENERATE_TIMEOUT_MS = 120_000;

function fail(message: string): never {
  console.error(`db:check failed: ${message}`);
  process.exit(1);
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function sqlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

function checkJournal(): void {
  const journalPath = path.join(MIGRATIONS, "meta", "_journal.json");
  if (!fs.existsSync(journalPath)) fail(`${path.relative(ROOT, journalPath)} is missing.`);
  const journal = JSON.parse(fs.readFileSync(journalPath, "utf8")) as { entries: Array<{ tag: string }> };
  const tags = new Set(journal.entries.map((e) => `${e.tag}.sql`));
  const files = sqlFiles(MIGRATIONS);
  const missing = [...tags].filter((t) => !files.includes(t));
  const unlisted = files.filter((f) => !tags.has(f));
  if (missing.length) fail(`the migration journal lists ${missing.join(", ")} but db/migrations has no such file.`);
  if (unlisted.length) {
    fail(
      `db/migrations has ${unlisted.join(", ")} that the journal (meta/_journal.json) does not list: drizzle's migrator would skip it. Make migrations with npm run db:generate (or drizzle-kit generate --custom).`,
    );
  }
}

function runGenerate(schema: string, out: string): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    // drizzle-kit prefixes "./" to --out, so it must be relative to the working directory.
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "node_modules", "drizzle-kit", "bin.cjs"),
        "generate",
        "--dialect",
        "mysql",
        "--schema",
        schema,
        "--out",
        path.relative(ROOT, out),
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    let timedOut = false;
    // With no terminal, a rename question ("was column x renamed?") would wait forever.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, GENERATE_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

async function main() {
  const schemaArg = argValue("--schema") ?? "./db/schema.ts";
  const schema = `./${path.relative(ROOT, path.resolve(schemaArg))}`;
  if (!fs.existsSync(path.resolve(ROOT, schema))) fail(`the schema file ${schema} does not exist.`);
  checkJournal();

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sluice-drift-"));
  let problem: string | undefined;
  let committed = 0;
  try {
    fs.cpSync(MIGRATIONS, tmp, { recursive: true });
    const before = new Set(sqlFiles(tmp));
    committed = before.size;
    const { code, output, timedOut } = await runGenerate(schema, tmp);
    const added = sqlFiles(tmp).filter((f) => !before.has(f));

    if (added.length > 0) {
      for (const f of added)
        console.error(`--- ${f} (not committed) ---\n${fs.readFileSync(path.join(tmp, f), "utf8")}`);
      problem = `${schema} has changes that no migration in db/migrations covers (see the SQL above). Run npm run db:generate and commit the new migration with the schema change.`;
    } else if (timedOut) {
      problem = `drizzle-kit generate asked a question (a table or column rename?) and got no answer within ${GENERATE_TIMEOUT_MS / 1000} s: ${schema} differs from the migrations. Run npm run db:generate in a terminal.`;
    } else if (code !== 0 || !/No schema changes/.test(output)) {
      // drizzle-kit exits 0 on some errors, so success is its own words, not the exit code.
      console.error(output.trim());
      problem = `drizzle-kit generate did not finish cleanly (exit code ${code}); its output is above.`;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  if (problem) fail(problem);
  console.log(`db:check passed: ${schema} matches the ${committed} migrations in db/migrations.`);
}

void main();
