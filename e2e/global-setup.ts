// Makes sure Chromium is there, creates and migrates the e2e database, adds
// the e2e operator and viewer, starts the web server (e2e/web-server.ts), and
// signs each user in once through the real sign-in route, keeping the browser
// state the specs start from. Its teardown stops the web server, before
// global-teardown drops the database (Playwright runs the function a global
// setup returns as its teardown, before the globalTeardown files).
import fs from "node:fs";
import path from "node:path";
import { request } from "@playwright/test";
import { createDb, openUtcPool } from "@/db/client";
import { migrateDatabase } from "@/db/migrate";
import { addUser, findUser } from "@/server/auth/users";
import { describeDatabaseError } from "@/server/db-errors";
import { E2E_USERS, storageStatePath } from "./env";
import { startWebServer } from "./web-server";

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
  const pool = openUtcPool(url, { connectionLimit: 1 });
  try {
    const db = createDb(pool);
    for (const u of Object.values(E2E_USERS)) {
      if (!(await findUser(db, u.username))) {
        await addUser(db, { name: "e2e-setup", role: "operator", address: "local" }, u);
      }
    }
  } finally {
    await pool.end();
  }
  const port = Number(process.env.SLUICE_E2E_PORT);
  const stopWebServer = await startWebServer(port);
  try {
    await signIn(`http://127.0.0.1:${port}`);
  } catch (err) {
    await stopWebServer();
    throw err;
  }
  return stopWebServer;
}

async function signIn(baseURL: string) {
  for (const who of ["operator", "viewer"] as const) {
    const { username, password } = E2E_USERS[who];
    const ctx = await request.newContext({ baseURL, extraHTTPHeaders: { origin: baseURL } });
    const res = await ctx.post("/api/auth/signin", { data: { username, password } });
    if (!res.ok()) throw new Error(`signing in ${username} failed: HTTP ${res.status()} ${await res.text()}`);
    fs.mkdirSync(path.dirname(storageStatePath(who)), { recursive: true });
    await ctx.storageState({ path: storageStatePath(who) });
    await ctx.dispose();
  }
}
