// A silent Vitest reporter for scripts/test-all.sh: writes the run's counts as
// JSON to $SLUICE_VITEST_COUNTS (if set) and prints nothing, so Vitest's own
// summary stays the last thing it prints.
import fs from "node:fs";
import type { Reporter, TestModule } from "vitest/node";

export default class CountsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const file = process.env.SLUICE_VITEST_COUNTS;
    if (!file) return;
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") counts.failed++;
        else counts.skipped++;
      }
    }
    fs.writeFileSync(file, JSON.stringify(counts));
  }
}
