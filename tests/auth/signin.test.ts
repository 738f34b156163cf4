// Sign-in against a real database: sessions, expiry, sign-out, and the rate
// limits per account and per address (checked and counted atomically, a
// progressive delay rather than a lock-out, IPv6 counted per /64).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db, openUtcPool } from "@/db/client";
import { AuthError } from "@/server/auth/errors";
import type { Actor } from "@/server/auth/roles";
import { createSession, endSession, sessionUser } from "@/server/auth/sessions";
import { type SigninLimits, signIn, signinDelayMs } from "@/server/auth/signin";
import { addUser, removeUser, resetPassword, setRole } from "@/server/auth/users";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { until } from "@/tests/helpers/wait";

let tdb: TestDatabase;
let pool: ReturnType<typeof openUtcPool>;
let db: Db;
const admin: Actor = { name: "test-admin", role: "operator", address: "192.0.2.9" };
const HOUR = 3600_000;
const LIMITS = { perAccount: 3, perAddress: 5, firstDelayMs: 1_000, windowMs: 60_000 };

beforeAll(async () => {
  tdb = await freshDatabase("auth");
  pool = openUtcPool(tdb.url, { connectionLimit: 4 });
  db = createDb(pool);
  await addUser(db, admin, { username: "olive", password: "olive-password-1", role: "operator" });
  await addUser(db, admin, { username: "victor", password: "victor-password-1", role: "viewer" });
});
afterAll(async () => {
  await pool?.end();
  await tdb?.drop();
});

const refusal = (p: Promise<unknown>) => rejectionOf(p, AuthError);

const attempt = (username: string, password: string, address = "198.51.100.1", limits: SigninLimits = LIMITS) =>
  signIn(db, { username, password, address, ttlMs: HOUR }, limits);

describe("sign-in", () => {
  it("signs in with the right password and the session names the user and role", async () => {
    const s = await attempt("olive", "olive-password-1");
    expect(s.user).toMatchObject({ username: "olive", role: "operator" });
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await sessionUser(db, s.token)).toMatchObject({ username: "olive", role: "operator" });
    // Only the token's hash is stored.
    const rows = await tdb.sql<{ token_hash: string }>("SELECT token_hash FROM sessions");
    expect(rows.map((r) => r.token_hash)).not.toContain(s.token);
  });

  it("gives the same answer for a wrong password and an unknown user", async () => {
    const wrong = await refusal(attempt("victor", "not-the-password", "198.51.100.2"));
    const unknown = await refusal(attempt("nobody", "not-the-password", "198.51.100.2"));
    expect(wrong.code).toBe("UNAUTHORIZED");
    expect(unknown.code).toBe("UNAUTHORIZED");
    expect(wrong.message).toBe(unknown.message);
  });

  it("ends a session on sign-out, and a role change shows at once", async () => {
    const s = await attempt("victor", "victor-password-1", "198.51.100.3");
    await setRole(db, admin, { username: "victor", role: "operator" });
    expect((await sessionUser(db, s.token))?.role).toBe("operator");
    await setRole(db, admin, { username: "victor", role: "viewer" });
    await endSession(db, s.token);
    expect(await sessionUser(db, s.token)).toBeNull();
  });

  it("expires a session after its time to live", async () => {
    const [u] = await tdb.sql<{ id: number }>("SELECT id FROM users WHERE username = 'olive'");
    const s = await createSession(db, { userId: Number(u?.id), address: "t", ttlMs: 300 });
    expect(await sessionUser(db, s.token)).not.toBeNull();
    await until(async () => (await sessionUser(db, s.token)) === null, "the session to expire", 5_000);
  });

  it("ends every session of a user whose password is reset or who is removed", async () => {
    await addUser(db, admin, { username: "rita", password: "rita-password-11", role: "viewer" });
    const s = await attempt("rita", "rita-password-11", "198.51.100.4");
    await resetPassword(db, admin, { username: "rita", password: "rita-password-22" });
    expect(await sessionUser(db, s.token)).toBeNull();
    expect((await refusal(attempt("rita", "rita-password-11", "198.51.100.4"))).code).toBe("UNAUTHORIZED");
    const again = await attempt("rita", "rita-password-22", "198.51.100.4");
    await removeUser(db, admin, { username: "rita" });
    expect(await sessionUser(db, again.token)).toBeNull();
  });

  it("slows an account down after too many failures, even with the right password, from any address", async () => {
    await addUser(db, admin, { username: "alice", password: "alice-password-1", role: "viewer" });
    for (let i = 0; i < LIMITS.perAccount; i++) await refusal(attempt("alice", `guess-${i}`, `203.0.113.${i}`));
    const limited = await refusal(attempt("alice", "alice-password-1", "203.0.113.200"));
    expect(limited.code).toBe("TOO_MANY_REQUESTS");
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    expect(limited.retryAfterMs).toBeLessThanOrEqual(LIMITS.firstDelayMs);
    // Another account is not affected.
    await expect(attempt("olive", "olive-password-1", "203.0.113.201")).resolves.toBeTruthy();
  });

  it("lets the owner in once the short delay has passed, long before the window ends", async () => {
    // A window of an hour: a lock-out for the window would keep the owner out for the whole test.
    const limits = { ...LIMITS, windowMs: HOUR };
    await addUser(db, admin, { username: "owen", password: "owen-password-11", role: "viewer" });
    for (let i = 0; i < limits.perAccount; i++) await refusal(attempt("owen", `guess-${i}`, `203.0.114.${i}`, limits));
    expect((await refusal(attempt("owen", "owen-password-11", "203.0.114.100", limits))).code).toBe(
      "TOO_MANY_REQUESTS",
    );
    const started = Date.now();
    const s = await until(
      () => attempt("owen", "owen-password-11", "203.0.114.100", limits).catch(() => undefined),
      "the owner to sign in after the delay",
      10_000,
      100,
    );
    expect(s.user.username).toBe("owen");
    expect(Date.now() - started).toBeLessThan(5_000);
    // A success starts the account afresh: the next wrong try is a plain 401.
    expect((await refusal(attempt("owen", "wrong-password", "203.0.114.101", limits))).code).toBe("UNAUTHORIZED");
  });

  it("doubles the delay with each further failure, up to the window", () => {
    const l = { perAccount: 5, perAddress: 20, firstDelayMs: 1_000, windowMs: 15 * 60_000 };
    expect([4, 5, 6, 7, 8].map((f) => signinDelayMs(f, 5, l))).toEqual([0, 1_000, 2_000, 4_000, 8_000]);
    expect(signinDelayMs(40, 5, l)).toBe(l.windowMs);
    expect(signinDelayMs(10_000, 5, l)).toBe(l.windowMs);
  });

  it("checks no more passwords than the limit when many wrong tries for one account arrive at once", async () => {
    await addUser(db, admin, { username: "bob", password: "bob-password-111", role: "viewer" });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        refusal(attempt("bob", `guess-${i}`, `203.0.115.${i}`, { ...LIMITS, perAccount: 5 })),
      ),
    );
    const codes = results.map((e) => e.code);
    expect(codes.filter((c) => c === "UNAUTHORIZED")).toHaveLength(5);
    expect(codes.filter((c) => c === "TOO_MANY_REQUESTS")).toHaveLength(15);
  });

  it("checks no more passwords than the limit when many wrong tries from one address arrive at once", async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => refusal(attempt(`racer${i}`, "guess", "198.51.100.77"))),
    );
    const codes = results.map((e) => e.code);
    expect(codes.filter((c) => c === "UNAUTHORIZED")).toHaveLength(LIMITS.perAddress);
    expect(codes.filter((c) => c === "TOO_MANY_REQUESTS")).toHaveLength(12 - LIMITS.perAddress);
  });

  it("refuses an address after too many failures across accounts", async () => {
    const address = "198.51.100.99";
    for (let i = 0; i < LIMITS.perAddress; i++) await refusal(attempt(`user${i}`, "guess", address));
    const limited = await refusal(attempt("olive", "olive-password-1", address));
    expect(limited.code).toBe("TOO_MANY_REQUESTS");
    // The same account from another address still signs in.
    await expect(attempt("olive", "olive-password-1", "198.51.100.100")).resolves.toBeTruthy();
  });

  it("counts an IPv6 sender per /64, and another /64 separately", async () => {
    for (let i = 0; i < LIMITS.perAddress; i++) await refusal(attempt(`six${i}`, "guess", `2001:db8:1:2::${i + 1}`));
    // Another address in the same /64 (and the same one written out in full) is the same sender.
    expect((await refusal(attempt("olive", "olive-password-1", "2001:db8:1:2:ffff::9"))).code).toBe(
      "TOO_MANY_REQUESTS",
    );
    expect((await refusal(attempt("olive", "olive-password-1", "2001:0db8:0001:0002:0000:0000:0000:0042"))).code).toBe(
      "TOO_MANY_REQUESTS",
    );
    await expect(attempt("olive", "olive-password-1", "2001:db8:1:3::1")).resolves.toBeTruthy();
  });

  it("validates usernames and passwords when users are added", async () => {
    expect(
      (await refusal(addUser(db, admin, { username: "bad name", password: "x".repeat(12), role: "viewer" }))).code,
    ).toBe("INVALID_ARGUMENT");
    expect((await refusal(addUser(db, admin, { username: "short", password: "short", role: "viewer" }))).code).toBe(
      "INVALID_ARGUMENT",
    );
    expect(
      (await refusal(addUser(db, admin, { username: "olive", password: "x".repeat(12), role: "viewer" }))).code,
    ).toBe("CONFLICT");
  });
});
