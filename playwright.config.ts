// End-to-end tests: Debian's Chromium (never a downloaded browser), headless,
// against `next start` on a test port and a fresh database sluice_e2e_<pid>_<hex>
// that global-setup creates and global-teardown drops. Run `next build` first
// (npm test does).
import { randomBytes } from "node:crypto";
import { defineConfig, devices } from "@playwright/test";

// The config is evaluated again in each worker process: pin the generated values in the environment.
process.env.SLUICE_E2E_DB ??= `sluice_e2e_${process.pid}_${randomBytes(3).toString("hex")}`;
process.env.SLUICE_E2E_PORT ??= "3217";

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
  globalSetup: "./e2e/global-setup.ts",
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL: BASE_URL,
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
    command: `node --import tsx scripts/migrate.ts && node node_modules/next/dist/bin/next ${process.env.E2E_DEV ? "dev" : "start"} -H 127.0.0.1 -p ${PORT}`,
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
    },
  },
});
