// npm run db:check must pass on the committed schema and fail when the schema
// gains a column no migration covers. The changed schema is a copy in
// .sluice/ (git-ignored): db/schema.ts itself is never touched.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const copyDir = path.join(ROOT, ".sluice", `drift-test-${process.pid}`);

function checkDrift(schema?: string) {
  const args = ["--import", "tsx", "scripts/check-drift.ts", ...(schema ? ["--schema", schema] : [])];
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 150_000 });
}

afterAll(() => fs.rmSync(copyDir, { recursive: true, force: true }));

describe("db:check", () => {
  it("passes when db/schema.ts matches the committed migrations", () => {
    const run = checkDrift();
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^db:check passed/);
    expect(run.status).toBe(0);
  });

  it("fails, showing the missing SQL, when the schema has a column no migration adds", () => {
    fs.mkdirSync(copyDir, { recursive: true });
    // Every schema module, so the copy's imports resolve as the original's do.
    const modules = fs.readdirSync(path.join(ROOT, "db")).filter((f) => f.endsWith(".ts"));
    for (const f of modules) fs.copyFileSync(path.join(ROOT, "db", f), path.join(copyDir, f));
    const schemaCopy = path.join(copyDir, "schema.ts");
    const source = fs.readFileSync(schemaCopy, "utf8");
    const anchor = /(\n\s*topic: varchar\("topic", \{ length: 191 \}\)\.notNull\(\),)/;
    expect(source).toMatch(anchor);
    fs.writeFileSync(schemaCopy, source.replace(anchor, '$1\n    driftProbe: varchar("drift_probe", { length: 10 }),'));

    const run = checkDrift(schemaCopy);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("`drift_probe` varchar(10)");
    expect(run.stderr).toMatch(/db:check failed: .* has changes that no migration in db\/migrations covers/);
  });
});
