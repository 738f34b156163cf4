import { afterAll, beforeAll, describe, expect, it } from "vitest";
import scenario from "../../faults/scenarios/03-connection-kill";
import { freshDatabase, type TestDatabase } from "../helpers/db";

let db: TestDatabase;

beforeAll(async () => {
  db = await freshDatabase("f");
});
afterAll(async () => {
  await db?.drop();
});

describe(scenario.name, () => {
  it("rides out connections killed mid-statement with nothing lost, doubled or reordered", async () => {
    const lines: string[] = [];
    const result = await scenario.run({ databaseUrl: db.url, durationMs: 8_000, log: (l) => lines.push(l) });
    console.log(`${scenario.name}: ${lines.join("; ")}`);
    expect(result.problems, result.problems.join("\n")).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.faults).toBeGreaterThan(5);
    expect(result.published).toBeGreaterThan(100);
  }, 90_000);
});
