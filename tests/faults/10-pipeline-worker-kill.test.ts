// Scenario 10: pipeline workers SIGKILLed at random; every build finishes,
// once, and stops polling.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/10-pipeline-worker-kill";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it("finishes every build with a verdict, triggered once, with no poll left behind", async () => {
    const result = await scenario.run({ databaseUrl: db.url, durationMs: 8_000 });
    expect(result.ok, result.problems.join("\n")).toBe(true);
    expect(result.faults).toBeGreaterThan(1);
    expect(result.published).toBeGreaterThan(8);
    expect(result.delivered).toBe(result.published);
  }, 150_000);
});
