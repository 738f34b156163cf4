// Signing in: the rate limits per account and per address are checked and
// the try is counted in one step, before the password (a limited guesser
// learns nothing), and an unknown username costs as much time as a wrong
// password. Each key's row is locked while it is checked and counted, so
// tries sent at once queue up behind each other instead of all reading the
// same count. A try is counted as a failure before its password is checked
// and taken back if the password was right.
//
// Past its free tries a key is not locked out but slowed down: each further
// failure doubles the wait before the next try (1 s, 2 s, 4 s, ... up to the
// window), so the account's owner gets in after seconds, not a quarter of an
// hour, while a guesser's rate falls off a cliff. A key with no failure for a
// whole window starts afresh.
import { eq, lt, sql } from "drizzle-orm";
import { signinThrottle } from "@/db/auth-schema";
import { type Db, NOW_MS } from "@/db/client";
import { errorCode } from "@/server/db-errors";
import { addressLimitKey } from "./address";
import { AuthError } from "./errors";
import { burnDecoy, verifyPassword } from "./password";
import type { SessionUser } from "./roles";
import { createSession } from "./sessions";
import { findUser } from "./users";

export interface SigninLimits {
  /** Failed sign-ins an account may have before each further try must wait. Default 5. */
  perAccount: number;
  /** Failed sign-ins an address (an IPv6 /64) may have before each further try must wait. Default 20. */
  perAddress: number;
  /** The wait after the free tries, ms; it doubles with each further failure. Default 1,000. */
  firstDelayMs: number;
  /** The longest wait, and how long a key must stay quiet to start afresh, ms. Default 15 minutes. */
  windowMs: number;
}

export const DEFAULT_SIGNIN_LIMITS: SigninLimits = {
  perAccount: 5,
  perAddress: 20,
  firstDelayMs: 1_000,
  windowMs: 15 * 60_000,
};

const WRONG = "wrong username or password";

interface LimitKey {
  key: string;
  free: number;
  what: string;
}

/** How long after its last failure a key with `failures` failures must wait, ms (0: no wait). */
export function signinDelayMs(failures: number, free: number, limits: SigninLimits): number {
  if (failures < free) return 0;
  // 2^30 already dwarfs any window; the cap keeps the power finite.
  return Math.min(limits.firstDelayMs * 2 ** Math.min(failures - free, 30), limits.windowMs);
}

function seconds(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}

/** Counts a try against every key, or refuses it (counting nothing) when a key must still wait. */
async function reserveTry(db: Db, keys: LimitKey[], limits: SigninLimits): Promise<void> {
  // Outside the transaction: two transactions inserting the same new key could deadlock on it.
  await db
    .insert(signinThrottle)
    .ignore()
    .values(keys.map((k) => ({ key: k.key, failures: 0, lastAt: 0 })));
  const refusal = await retryOnDeadlock(() => lockAndCount(db, keys, limits));
  if (refusal) throw refusal;
}

/** A deadlock victim runs again: ordered locking makes one unlikely, the upsert's insert locks not impossible. */
async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const cause = (err as { cause?: unknown }).cause;
      const deadlock = errorCode(err) === "ER_LOCK_DEADLOCK" || errorCode(cause) === "ER_LOCK_DEADLOCK";
      if (!deadlock || attempt >= 3) throw err;
    }
  }
}

async function lockAndCount(db: Db, keys: LimitKey[], limits: SigninLimits): Promise<AuthError | undefined> {
  return db.transaction(async (tx) => {
    // Keys are locked in the order given (every caller: account, then address), so two tries never deadlock.
    const counted: { key: string; failures: number }[] = [];
    for (const k of keys) {
      const [row] = await tx
        .select({
          key: signinThrottle.key,
          failures: signinThrottle.failures,
          lastAt: signinThrottle.lastAt,
          now: sql<string>`${NOW_MS}`,
        })
        .from(signinThrottle)
        .where(eq(signinThrottle.key, k.key))
        .for("update");
      const now = Number(row?.now ?? 0);
      const lastAt = Number(row?.lastAt ?? 0);
      const failures = row && now - lastAt < limits.windowMs ? row.failures : 0;
      const wait = lastAt + signinDelayMs(failures, k.free, limits) - now;
      if (failures >= k.free && wait > 0) {
        return new AuthError(
          "TOO_MANY_REQUESTS",
          `too many failed sign-ins for ${k.what}; try again in ${seconds(wait)}`,
          wait,
        );
      }
      counted.push({ key: k.key, failures: failures + 1 });
    }
    // An upsert: a sign-in that just succeeded may have deleted the account's row since it was inserted above.
    for (const c of counted) {
      await tx
        .insert(signinThrottle)
        .values({ key: c.key, failures: c.failures, lastAt: NOW_MS })
        .onDuplicateKeyUpdate({ set: { failures: c.failures, lastAt: NOW_MS } });
    }
    return undefined;
  });
}

export async function signIn(
  db: Db,
  input: { username: string; password: string; address: string; ttlMs: number },
  limits: SigninLimits = DEFAULT_SIGNIN_LIMITS,
): Promise<{ user: SessionUser; token: string; expiresAt: number }> {
  const username = input.username.slice(0, 64);
  const address = input.address.slice(0, 64);
  const account = `account:${username}`;
  const sender = `address:${addressLimitKey(address)}`;
  await reserveTry(
    db,
    [
      { key: account, free: limits.perAccount, what: "this account" },
      { key: sender, free: limits.perAddress, what: "your address" },
    ],
    limits,
  );
  const user = await findUser(db, username);
  let ok = false;
  if (user) ok = await verifyPassword(input.password, user.passwordHash);
  else await burnDecoy(input.password);
  if (!user || !ok) throw new AuthError("UNAUTHORIZED", WRONG);
  // The right password: the account starts afresh, and this try no longer counts against the address.
  await db.delete(signinThrottle).where(eq(signinThrottle.key, account));
  await db
    .update(signinThrottle)
    .set({ failures: sql`GREATEST(${signinThrottle.failures}, 1) - 1` })
    .where(eq(signinThrottle.key, sender));
  const session = await createSession(db, { userId: user.id, address, ttlMs: input.ttlMs });
  return { user: { id: user.id, username: user.username, role: user.role }, ...session };
}

/** Forgets keys quiet for a whole window (they count as fresh anyway); the worker's maintenance pass calls it. */
export async function deleteOldSigninFailures(db: Db, limits: SigninLimits = DEFAULT_SIGNIN_LIMITS): Promise<number> {
  const [res] = await db.delete(signinThrottle).where(lt(signinThrottle.lastAt, sql`${NOW_MS} - ${limits.windowMs}`));
  return res.affectedRows;
}
