// Drops the e2e database made for this run and removes its build directory.
import { rm } from "node:fs/promises";
import path from "node:path";
import mysql from "mysql2/promise";
import { databaseName } from "@/db/migrate";
import { storageStatePath } from "./env";

export default async function globalTeardown() {
  const buildDir = process.env.SLUICE_E2E_BUILD_DIR;
  if (buildDir?.includes("sluice-e2e-builds-")) await rm(buildDir, { recursive: true, force: true });
  const authDir = path.dirname(storageStatePath("operator"));
  if (authDir.includes("sluice_e2e_")) await rm(authDir, { recursive: true, force: true });
  const url = process.env.SLUICE_E2E_DATABASE_URL;
  if (!url) return;
  const name = databaseName(url);
  if (!name.startsWith("sluice_e2e_")) throw new Error(`refusing to drop ${name}: not an e2e database`);
  const server = new URL(url);
  server.pathname = "/";
  const conn = await mysql.createConnection({ uri: server.toString() });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}
