// Scenario 09: poison messages reach the DLQ after exactly maxAttempts with
// their reason, and the good messages behind them still arrive in time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/09-poison";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it("dead-letters every poison message with its reason and delivers every good one", async () => {
    const result = await scenario.run({ databaseUrl: db.url, durationMs: 7_000 });
    expect(result.ok, result.problems.join("\n")).toBe(true);
    expect(result.faults).toBeGreaterThan(10);
    expect(result.published).toBeGreaterThan(150);
    expect(result.lost).toBe(0);
    expect(result.delivered).toBe(result.published);
  }, 90_000);
});
