// Creates and migrates the e2e database (idempotent: the web server's own
// migrate step may have created it already) and makes sure Chromium is there.
import fs from "node:fs";
import { migrateDatabase } from "../db/migrate";
import { describeDatabaseError } from "../server/db-errors";

export default async function globalSetup() {
  const url = process.env.SLUICE_E2E_DATABASE_URL;
  if (!url) throw new Error("SLUICE_E2E_DATABASE_URL is not set: run the e2e tests through playwright.config.ts");
  const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!fs.existsSync(chromium)) {
    throw new Error(
      `${chromium} is missing: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
  }
  try {
    await migrateDatabase(url);
  } catch (err) {
    throw new Error(describeDatabaseError(err, url));
  }
}
