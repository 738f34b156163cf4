// Scenario 12: processes starting at once on an empty database; exactly one
// applies the migrations and every one starts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/12-concurrent-migrate";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it("lets exactly one process migrate an empty database while the others wait and start", async () => {
    // Two rounds: one on an empty database, one where the database does not exist yet.
    const result = await scenario.run({ databaseUrl: db.url, durationMs: 1 });
    expect(result.ok, result.problems.join("\n")).toBe(true);
    expect(result.faults).toBeGreaterThanOrEqual(2);
    expect(result.published).toBeGreaterThanOrEqual(8);
    expect(result.delivered).toBe(result.published);
  }, 120_000);
});
