// A scenario's row of the soak table, from the checker's verdicts and the
// counts a scenario keeps beside them (DLQ moves, builds, processes).
import type { CheckResult, ScenarioResult } from "@/faults/types";

type Count = "delivered" | "lost" | "unexpected" | "duplicated" | "orderViolations";

export interface RowInput {
  scenario: string;
  startedAt: number;
  verdicts: CheckResult[];
  published: number;
  /** Added to the verdicts' sums (all of it, where nothing went through the checker). */
  counts?: Partial<Record<Count, number>>;
  /** Default the verdicts' own allowance. */
  allowedDuplicates?: number;
  faults: number;
  /** Besides the verdicts' own; any of them fails the row. */
  problems: string[];
}

export function resultRow(input: RowInput): ScenarioResult {
  const sum = (k: Count) =>
    input.verdicts.reduce((n, v) => n + v.groups.reduce((m, g) => m + g[k], 0), 0) + (input.counts?.[k] ?? 0);
  const problems = [...input.verdicts.flatMap((v) => v.problems), ...input.problems];
  return {
    scenario: input.scenario,
    published: input.published,
    delivered: sum("delivered"),
    lost: sum("lost"),
    unexpected: sum("unexpected"),
    duplicated: sum("duplicated"),
    orderViolations: sum("orderViolations"),
    allowedDuplicates: input.allowedDuplicates ?? input.verdicts[0]?.allowedDuplicates ?? 0,
    faults: input.faults,
    ok: input.verdicts.every((v) => v.ok) && problems.length === 0,
    problems,
    durationMs: Date.now() - input.startedAt,
  };
}

/** The row of a scenario that could not finish: what it threw, and what it had got to. */
export function failedRow(
  scenario: string,
  how: "scenario threw" | "could not run",
  err: unknown,
  sofar: Partial<ScenarioResult> & { startedAt: number },
): ScenarioResult {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const { startedAt, problems = [], ...counts } = sofar;
  return resultRow({
    scenario,
    startedAt,
    verdicts: [],
    published: counts.published ?? 0,
    counts: { delivered: counts.delivered ?? 0 },
    allowedDuplicates: counts.allowedDuplicates ?? 0,
    faults: counts.faults ?? 0,
    problems: [`${how}: ${message}`, ...problems],
  });
}
