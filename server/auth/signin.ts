// Signing in: rate limits per account and per address are checked before the
// password (a locked-out guesser learns nothing), every failure is counted,
// and an unknown username costs as much time as a wrong password.
import { and, count, eq, gt, lt, min, sql } from "drizzle-orm";
import { signinFailures } from "../../db/auth-schema";
import { type Db, NOW_MS } from "../../db/client";
import { AuthError } from "./errors";
import { burnDecoy, verifyPassword } from "./password";
import type { SessionUser } from "./roles";
import { createSession } from "./sessions";
import { findUser } from "./users";

export interface SigninLimits {
  /** Failed sign-ins one account may have within the window before further tries are refused. Default 5. */
  perAccount: number;
  /** Failed sign-ins one address may have within the window. Default 20. */
  perAddress: number;
  /** The window, ms. Default 15 minutes. */
  windowMs: number;
}

export const DEFAULT_SIGNIN_LIMITS: SigninLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

const WRONG = "wrong username or password";

async function failuresSince(db: Db, column: "username" | "address", value: string, windowMs: number) {
  const [r] = await db
    .select({ n: count(), oldest: min(signinFailures.at), now: sql<number>`${NOW_MS}` })
    .from(signinFailures)
    .where(and(eq(signinFailures[column], value), gt(signinFailures.at, sql`${NOW_MS} - ${windowMs}`)));
  return { n: Number(r?.n ?? 0), oldest: Number(r?.oldest ?? 0), now: Number(r?.now ?? 0) };
}

async function refuseIfLimited(db: Db, username: string, address: string, limits: SigninLimits): Promise<void> {
  for (const [column, value, max, what] of [
    ["username", username, limits.perAccount, "this account"],
    ["address", address, limits.perAddress, "your address"],
  ] as const) {
    const f = await failuresSince(db, column, value, limits.windowMs);
    if (f.n >= max) {
      const retryAfterMs = Math.max(1000, f.oldest + limits.windowMs - f.now);
      throw new AuthError(
        "TOO_MANY_REQUESTS",
        `too many failed sign-ins for ${what}; try again in ${Math.ceil(retryAfterMs / 60_000)} min`,
        retryAfterMs,
      );
    }
  }
}

export async function signIn(
  db: Db,
  input: { username: string; password: string; address: string; ttlMs: number },
  limits: SigninLimits = DEFAULT_SIGNIN_LIMITS,
): Promise<{ user: SessionUser; token: string; expiresAt: number }> {
  const username = input.username.slice(0, 64);
  const address = input.address.slice(0, 64);
  await refuseIfLimited(db, username, address, limits);
  const user = await findUser(db, username);
  let ok = false;
  if (user) ok = await verifyPassword(input.password, user.passwordHash);
  else await burnDecoy(input.password);
  if (!user || !ok) {
    await db.insert(signinFailures).values({ username, address, at: NOW_MS });
    throw new AuthError("UNAUTHORIZED", WRONG);
  }
  await db.delete(signinFailures).where(eq(signinFailures.username, username));
  const session = await createSession(db, { userId: user.id, address, ttlMs: input.ttlMs });
  return { user: { id: user.id, username: user.username, role: user.role }, ...session };
}

/** Forgets failures older than any window could count; the worker's maintenance pass calls it. */
export async function deleteOldSigninFailures(db: Db, limits: SigninLimits = DEFAULT_SIGNIN_LIMITS): Promise<number> {
  const [res] = await db.delete(signinFailures).where(lt(signinFailures.at, sql`${NOW_MS} - ${limits.windowMs}`));
  return res.affectedRows;
}
