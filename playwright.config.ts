// End-to-end tests: Debian's Chromium (never a downloaded browser), headless,
// against scripts/serve.ts (what npm start runs) on a test port and a fresh database sluice_e2e_<pid>_<hex>
// that global-setup creates and global-teardown drops. Run `next build` first
// (npm test does). The web server also runs the real pipeline worker
// (SLUICE_IN_PROCESS_WORKER) with command runners for the tests' queues, so a
// build triggered from a page really runs.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { E2E_GITHUB, storageStatePath } from "./e2e/env";

// The config is evaluated again in each worker process: pin the generated values in the environment.
process.env.SLUICE_E2E_DB ??= `sluice_e2e_${process.pid}_${randomBytes(3).toString("hex")}`;
process.env.SLUICE_E2E_PORT ??= "3217";
// The fake GitHub's port (e2e/github.spec.ts starts it): 1000 above the web server's, so parallel runs differ.
process.env.SLUICE_E2E_GITHUB_PORT ??= String(Number(process.env.SLUICE_E2E_PORT) + 1000);
// Where the e2e command builds keep their files; global-teardown removes it.
process.env.SLUICE_E2E_BUILD_DIR ??= mkdtempSync(path.join(tmpdir(), "sluice-e2e-builds-"));

/** The runners of the e2e queues (e2e/builds.spec.ts, e2e/github.spec.ts). No default: any other queue cannot be built. */
const E2E_RUNNERS = {
  queues: {
    "e2e-ok": { kind: "command", command: "sleep 3; echo ok" },
    "e2e-fail": { kind: "command", command: "echo boom; exit 3" },
    "e2e-long": { kind: "command", command: "sleep 120" },
    // Two pages of output at once, then a line every half second for ten seconds (e2e/build-logs.spec.ts).
    "e2e-log": {
      kind: "command",
      command:
        'seq -f "line %g of the long output" 1 4000; i=1; while [ $i -le 20 ]; do echo "live $i"; sleep 0.5; i=$((i + 1)); done',
    },
    // GitHub Actions against the fake GitHub (e2e/github.spec.ts). Polls ten minutes apart: within the test
    // only the webhook can take the run from queued to succeeded.
    "e2e-github": {
      kind: "github",
      owner: E2E_GITHUB.owner,
      repo: E2E_GITHUB.repo,
      workflow: E2E_GITHUB.workflow,
      ref: "main",
      inputs: { head: "head" },
      apiUrl: `http://127.0.0.1:${process.env.SLUICE_E2E_GITHUB_PORT}`,
      pollAcceptedMs: 600_000,
      pollRunningMs: 600_000,
    },
  },
};

const PORT = Number(process.env.SLUICE_E2E_PORT);
const SERVER = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/";
const DATABASE_URL = new URL(process.env.SLUICE_E2E_DB, SERVER).toString();
process.env.SLUICE_E2E_DATABASE_URL = DATABASE_URL;
const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results",
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  // The queue tests' consumer process starts after the database is migrated; its teardown runs before global-teardown.
  globalSetup: ["./e2e/global-setup.ts", "./e2e/queue-consumer-setup.ts"],
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL: BASE_URL,
    // Signed in as the e2e operator (global-setup); e2e/auth.spec.ts also plays the viewer and nobody.
    storageState: storageStatePath("operator"),
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    {
      name: "debian-chromium",
      use: {
        ...devices["Desktop Chrome"],
        headless: true,
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
          ],
        },
      },
    },
  ],
  webServer: {
    // Playwright starts the web server before global-setup runs, so the
    // migration step here is also what creates the database.
    // The production server npm start runs (scripts/serve.ts), or next dev with E2E_DEV=1.
    command: `node --import tsx scripts/migrate.ts && ${process.env.E2E_DEV ? `node node_modules/next/dist/bin/next dev -H 127.0.0.1 -p ${PORT}` : "node --import tsx scripts/serve.ts"}`,
    url: `${BASE_URL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL,
      PORT: String(PORT),
      HOST: "127.0.0.1",
      SLUICE_IN_PROCESS_WORKER: "true",
      SLUICE_RUNNERS: JSON.stringify(E2E_RUNNERS),
      // Poll builds often, so a status change reaches the page within a second or so.
      SLUICE_POLL_ACCEPTED_MS: "500",
      SLUICE_POLL_RUNNING_MS: "500",
      SLUICE_BUILD_DIR: process.env.SLUICE_E2E_BUILD_DIR,
      GITHUB_TOKEN: E2E_GITHUB.token,
      GITHUB_WEBHOOK_SECRET: E2E_GITHUB.webhookSecret,
    },
  },
});
