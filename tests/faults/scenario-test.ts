// One fault scenario as a vitest test: a fresh database, a short run, and the
// checker's verdict, plus proof that the fault happened and traffic flowed
// (a run that injected nothing or published nothing proves nothing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scenario, ScenarioResult } from "@/faults/types";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";

export interface ShortRun {
  /** What the test claims; default the scenario's title. */
  title?: string;
  /** Traffic and faults, ms. */
  durationMs: number;
  /** Faults that must have been injected, at least. */
  minFaults: number;
  /** Messages (or builds, processes) that must have been published, at least. */
  minPublished: number;
  /** Whether every published item must be delivered (scenarios where nothing may be left in flight). */
  allDelivered?: boolean;
  /** Extra checks on the result. */
  also?: (r: ScenarioResult) => void;
  timeoutMs?: number;
}

export function scenarioTest(scenario: Scenario, run: ShortRun): void {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase("f");
  });
  afterAll(async () => {
    await db?.drop();
  });
  describe(scenario.name, () => {
    it(
      run.title ?? scenario.title,
      async () => {
        const lines: string[] = [];
        const r = await scenario.run({ databaseUrl: db.url, durationMs: run.durationMs, log: (l) => lines.push(l) });
        const why = [...r.problems, ...lines.slice(-20)].join("\n");
        expect(r.problems, why).toEqual([]);
        expect(r.ok, why).toBe(true);
        expect(r.faults).toBeGreaterThanOrEqual(run.minFaults);
        expect(r.published).toBeGreaterThanOrEqual(run.minPublished);
        if (run.allDelivered) expect(r.delivered).toBe(r.published);
        run.also?.(r);
      },
      run.timeoutMs ?? 90_000,
    );
  });
}
