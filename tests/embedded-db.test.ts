// The private database `npm start` runs when none answers: a real mariadbd
// in a scratch project folder. Nobody gets in without a password: Sluice
// has a user of its own whose random password is kept in .sluice (0600),
// root is locked out, and the server listens on 127.0.0.1 only.
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EmbeddedDatabase, findServerBinary, startEmbeddedDatabase } from "@/scripts/lib/embedded-db";
import { freePort } from "@/scripts/lib/net";

let root: string;
let db: EmbeddedDatabase | undefined;
const logs: string[] = [];

async function start() {
  const server = findServerBinary();
  if (!server) throw new Error("no mariadbd or mysqld on this machine: the tests need MariaDB installed");
  return startEmbeddedDatabase({
    projectRoot: root,
    server,
    preferredPort: await freePort(),
    database: "sluice",
    log: (m) => logs.push(m),
  });
}

async function query(uri: string, sql: string) {
  const conn = await mysql.createConnection({ uri, connectTimeout: 5_000 });
  try {
    const [rows] = await conn.query(sql);
    return rows;
  } finally {
    await conn.end();
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), "sluice-embedded-"));
});
afterAll(async () => {
  await db?.stop();
  await rm(root, { recursive: true, force: true });
});

it("lets only Sluice's own user in, with a password kept in a file only its owner reads", async () => {
  db = await start();
  const url = new URL(db.url);
  expect(url.username).toBe("sluice");
  expect(url.password.length).toBeGreaterThanOrEqual(24);
  expect(url.hostname).toBe("127.0.0.1");

  const file = path.join(root, ".sluice", "mysql.credentials");
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
    user: "sluice",
    password: decodeURIComponent(url.password),
  });

  const server = `mysql://sluice:${url.password}@127.0.0.1:${db.port}/`;
  expect(await query(server, "SELECT CURRENT_USER() AS u, @@bind_address AS bind")).toEqual([
    { u: "sluice@127.0.0.1", bind: "127.0.0.1" },
  ]);
  // Root, with no password or an empty one, and anyone without a name, are refused.
  for (const who of ["root", "root:", "", "sluice"]) {
    const uri = `mysql://${who}${who ? "@" : ""}127.0.0.1:${db.port}/`;
    await expect(query(uri, "SELECT 1"), who || "(anonymous)").rejects.toMatchObject({
      code: "ER_ACCESS_DENIED_ERROR",
    });
  }
  // Sluice's user may do what npm start needs: create the database and migrate it.
  await query(server, "CREATE DATABASE IF NOT EXISTS sluice");
});

it("keeps the same credentials across a restart", async () => {
  const before = db?.credentials;
  await db?.stop();
  db = await start();
  expect(db.credentials).toEqual(before);
  expect(await query(db.url, "SELECT CURRENT_USER() AS u")).toEqual([{ u: "sluice@127.0.0.1" }]);
});
