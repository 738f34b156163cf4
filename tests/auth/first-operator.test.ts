// Secure by default: npm start makes the first operator only when it listens
// on loopback, and refuses to serve a user-less console to the network.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, openUtcPool } from "@/db/client";
import { ensureFirstOperator } from "@/scripts/lib/first-operator";
import { signIn } from "@/server/auth/signin";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";

let empty: TestDatabase;
let other: TestDatabase;

beforeAll(async () => {
  [empty, other] = await Promise.all([freshDatabase("first"), freshDatabase("first")]);
});
afterAll(async () => {
  await Promise.all([empty?.drop(), other?.drop()]);
});

describe("the first operator", () => {
  it("refuses a network address while no user exists, and creates nobody", async () => {
    const r = await ensureFirstOperator(other.url, "0.0.0.0");
    expect(r.kind).toBe("refused");
    if (r.kind === "refused") expect(r.message).toMatch(/npx sluice add-user <name> --role operator/);
    expect(await other.sql("SELECT * FROM users")).toEqual([]);
  });

  it("is made once on loopback, with a random password that signs in, and audited", async () => {
    const r = await ensureFirstOperator(empty.url, "127.0.0.1");
    expect(r.kind).toBe("created");
    if (r.kind !== "created") return;
    expect(r.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const pool = openUtcPool(empty.url, { connectionLimit: 1 });
    try {
      const s = await signIn(createDb(pool), {
        username: r.username,
        password: r.password,
        address: "t",
        ttlMs: 60_000,
      });
      expect(s.user.role).toBe("operator");
    } finally {
      await pool.end();
    }
    expect((await ensureFirstOperator(empty.url, "127.0.0.1")).kind).toBe("exists");
    // Once a user exists, any address is fine: everyone must sign in.
    expect((await ensureFirstOperator(empty.url, "0.0.0.0")).kind).toBe("exists");
    const audit = await empty.sql<{ actor: string; action: string }>("SELECT actor, action FROM audit_log");
    expect(audit).toEqual([{ actor: "system:npm-start", action: "user.add" }]);
  });
});
