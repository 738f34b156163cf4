// Scenario 11: subscriptions opened and closed in a tight loop leave nothing
// behind and lose nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/11-start-stop";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it("leaves no lease, subscriber, timer or connection behind after ~100 open/close cycles", async () => {
    const result = await scenario.run({ databaseUrl: db.url, durationMs: 8_000 });
    expect(result.ok, result.problems.join("\n")).toBe(true);
    expect(result.faults).toBeGreaterThanOrEqual(100);
    expect(result.published).toBeGreaterThan(100);
    expect(result.delivered).toBe(result.published);
  }, 90_000);
});
