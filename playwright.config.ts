// End-to-end tests: Debian's Chromium (never a downloaded browser), headless,
// against scripts/serve.ts (what npm start runs) on a test port and a fresh database sluice_e2e_<pid>_<hex>
// that global-setup creates and global-teardown drops. Run `next build` first
// (npm test does). global-setup also starts the web server (e2e/web-server.ts,
// with the real pipeline worker inside) and stops it before the database goes.
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { storageStatePath } from "./e2e/env";

// The config is evaluated again in each worker process: pin the generated values in the environment.
process.env.SLUICE_E2E_DB ??= `sluice_e2e_${process.pid}_${randomBytes(3).toString("hex")}`;
process.env.SLUICE_E2E_PORT ??= "3217";
// The fake GitHub's port (e2e/github.spec.ts starts it): 1000 above the web server's, so parallel runs differ.
process.env.SLUICE_E2E_GITHUB_PORT ??= String(Number(process.env.SLUICE_E2E_PORT) + 1000);
// Where the e2e command builds keep their files; global-teardown removes it.
process.env.SLUICE_E2E_BUILD_DIR ??= mkdtempSync(path.join(tmpdir(), "sluice-e2e-builds-"));

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
  // global-setup migrates the database and starts the web server, then the queue tests' consumer process starts;
  // their teardowns (the consumer's, then the web server's) run before global-teardown drops the database.
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
});
