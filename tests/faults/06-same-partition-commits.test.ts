import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/06-same-partition-commits";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it(scenario.title, async () => {
    const r = await scenario.run({ databaseUrl: db.url, durationMs: 8_000 });
    expect(r.problems, r.problems.join("\n")).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.faults).toBeGreaterThan(0);
    expect(r.published).toBeGreaterThan(300);
  }, 90_000);
});
