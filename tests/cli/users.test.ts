// `sluice users`, `add-user`, `reset-password`, `set-role`, `remove-user` as
// child processes against a real database: --json parsed, passwords never
// taken from the command line, each change audited as cli:<os user>.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db, openUtcPool } from "@/db/client";
import { signIn } from "@/server/auth/signin";
import { runSluice } from "@/tests/helpers/cli";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";

let tdb: TestDatabase;
let pool: ReturnType<typeof openUtcPool>;
let db: Db;

const sluice = (args: string[], stdin = "") => runSluice({ DATABASE_URL: tdb.url }, args, stdin);

async function json<T>(args: string[], stdin = ""): Promise<T> {
  const r = await sluice([...args, "--json"], stdin);
  if (r.code !== 0) throw new Error(`sluice ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

const canSignIn = (username: string, password: string) =>
  signIn(db, { username, password, address: "cli-test", ttlMs: 60_000 }).then(
    () => true,
    () => false,
  );

beforeAll(async () => {
  tdb = await freshDatabase("cliusers");
  pool = openUtcPool(tdb.url, { connectionLimit: 2 });
  db = createDb(pool);
});
afterAll(async () => {
  await pool?.end();
  await tdb?.drop();
});

describe("sluice user commands", () => {
  it("adds an operator with a password from stdin, and lists it", async () => {
    expect(await json(["add-user", "ops1", "--role", "operator", "--password-stdin"], "a-long-password-1\n")).toEqual({
      username: "ops1",
      role: "operator",
    });
    expect(await canSignIn("ops1", "a-long-password-1")).toBe(true);
    const users = await json<Array<{ username: string; role: string }>>(["users"]);
    expect(users.map((u) => [u.username, u.role])).toEqual([["ops1", "operator"]]);
  });

  it("generates a password when asked and prints it once", async () => {
    const out = await json<{ password: string }>(["add-user", "view1", "--role", "viewer", "--generate"]);
    expect(out.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await canSignIn("view1", out.password)).toBe(true);
  });

  it("refuses without a password source when stdin is not a terminal, and refuses bad input", async () => {
    const none = await sluice(["add-user", "x1", "--role", "viewer"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--password-stdin or --generate/);
    const short = await sluice(["add-user", "x1", "--role", "viewer", "--password-stdin"], "short\n");
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/at least 12 characters/);
    const role = await sluice(["add-user", "x1", "--role", "admin", "--generate"]);
    expect(role.code).toBe(2);
    const dup = await sluice(["add-user", "ops1", "--role", "viewer", "--generate"]);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/already exists/);
  });

  it("resets a password, changes a role and removes a user", async () => {
    await json(["reset-password", "ops1", "--password-stdin"], "another-password-2");
    expect(await canSignIn("ops1", "a-long-password-1")).toBe(false);
    expect(await canSignIn("ops1", "another-password-2")).toBe(true);
    expect(await json(["set-role", "view1", "--role", "operator"])).toEqual({ username: "view1", role: "operator" });
    expect((await sluice(["remove-user", "view1"])).code).toBe(1); // no --yes, no terminal
    expect(await json(["remove-user", "view1", "--yes"])).toEqual({ username: "view1", removed: true });
    expect((await json<Array<{ username: string }>>(["users"])).map((u) => u.username)).toEqual(["ops1"]);
    expect((await sluice(["reset-password", "nobody", "--generate"])).stderr).toMatch(/no user nobody/);
  });

  it("audits every change as the CLI's user, never with a password", async () => {
    const rows = await tdb.sql<{ actor: string; action: string; target: string; address: string }>(
      "SELECT actor, action, target, address FROM audit_log ORDER BY id",
    );
    expect(rows.map((r) => r.action)).toEqual([
      "user.add",
      "user.add",
      "user.reset-password",
      "user.set-role",
      "user.remove",
    ]);
    for (const r of rows) {
      expect(r.actor).toMatch(/^cli:/);
      expect(r.address).toMatch(/^cli@/);
      expect(r.target).not.toMatch(/password-|"password"/);
    }
  });
});
