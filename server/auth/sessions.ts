// Sessions: a random 256-bit token in an HttpOnly cookie, its SHA-256 in the
// database with an absolute expiry. Signing out or resetting a password
// deletes the row, which ends the session at once on every server.
import { createHash, randomBytes } from "node:crypto";
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { sessions, users } from "@/db/auth-schema";
import { type Db, NOW_MS } from "@/db/client";
import type { Role, SessionUser } from "./roles";

export const SESSION_COOKIE = "sluice_session";

function nowPlus(ms: number) {
  return sql`${NOW_MS} + ${Math.round(ms)}`;
}

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createSession(
  db: Db,
  input: { userId: number; address: string; ttlMs: number },
): Promise<{ token: string; expiresAt: number }> {
  const token = randomBytes(32).toString("base64url");
  await db.insert(sessions).values({
    tokenHash: tokenHash(token),
    userId: input.userId,
    address: input.address.slice(0, 64),
    createdAt: NOW_MS,
    // Computed by the database, like every other time Sluice stores.
    expiresAt: nowPlus(input.ttlMs),
  });
  const [row] = await db
    .select({ expiresAt: sessions.expiresAt })
    .from(sessions)
    .where(eq(sessions.tokenHash, tokenHash(token)));
  return { token, expiresAt: Number(row?.expiresAt) };
}

/** The user a live session token belongs to, or null (unknown, expired, malformed). */
export async function sessionUser(db: Db, token: string | undefined): Promise<SessionUser | null> {
  if (!token || token.length > 100) return null;
  const [row] = await db
    .select({ id: users.id, username: users.username, role: users.role })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(and(eq(sessions.tokenHash, tokenHash(token)), gt(sessions.expiresAt, NOW_MS)));
  return row ? { id: row.id, username: row.username, role: row.role as Role } : null;
}

export async function endSession(db: Db, token: string | undefined): Promise<void> {
  if (!token || token.length > 100) return;
  await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash(token)));
}

/** Deletes expired sessions; the worker's maintenance pass calls it. */
export async function deleteExpiredSessions(db: Db): Promise<number> {
  const [res] = await db.delete(sessions).where(lt(sessions.expiresAt, NOW_MS));
  return res.affectedRows;
}
