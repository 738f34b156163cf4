#!/usr/bin/env bash
# npm test: every check and test Sluice has, in order, stopping at the first
# failure. Needs MariaDB/MySQL at 127.0.0.1:3306 (or TEST_MYSQL_URL) and
# /usr/bin/chromium; .ci/run sets both up on a bare machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export NEXT_TELEMETRY_DISABLED=1
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT

started=$(date +%s)
step() {
  echo
  echo "==> $* ($(($(date +%s) - started)) s)"
}

step "format check (biome format)"
npx biome format .

step "lint and import order (biome check, formatting checked above)"
npx biome check --formatter-enabled=false .

step "typecheck (tsc --noEmit)"
npx tsc --noEmit

step "schema drift (db/schema.ts vs db/migrations)"
npx tsx scripts/check-drift.ts

step "database for the tests"
node -e '
  const url = process.env.TEST_MYSQL_URL || "mysql://root@127.0.0.1:3306/";
  require("mysql2/promise").createConnection({ uri: url, connectTimeout: 5000 }).then(
    (c) => { console.log(`MariaDB/MySQL answers at ${url.replace(/:[^:@/]*@/, ":***@")}`); return c.end(); },
    (e) => { console.error(`Cannot reach MariaDB/MySQL at ${url.replace(/:[^:@/]*@/, ":***@")} (${e.code || e.message}): start it (.ci/run does) or set TEST_MYSQL_URL.`); process.exit(1); });
'

step "unit and integration tests (vitest)"
SLUICE_VITEST_COUNTS="$reports/vitest.json" npx vitest run --reporter=default --reporter=./scripts/lib/vitest-counts.ts

step "build (next build)"
npx next build

step "end-to-end tests (playwright, Debian chromium)"
PLAYWRIGHT_JSON_OUTPUT_FILE="$reports/playwright.json" npx playwright test --reporter=list,json

echo
echo "==> all checks passed in $(($(date +%s) - started)) s"
node -e '
  const fs = require("node:fs");
  const v = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const p = JSON.parse(fs.readFileSync(process.argv[2], "utf8")).stats;
  const passed = v.passed + p.expected + p.flaky;
  const failed = v.failed + p.unexpected;
  const skipped = v.skipped + p.skipped;
  console.log(`(vitest ${v.passed}, playwright ${p.expected + p.flaky})`);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$reports/vitest.json" "$reports/playwright.json"
