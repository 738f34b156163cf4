// Console users: add, reset a password, change a role, remove. Each change
// writes its audit row in the same transaction. The CLI and the tests call
// these; the console has no user management page yet.
import { asc, count, eq } from "drizzle-orm";
import { z } from "zod";
import { sessions, users } from "@/db/auth-schema";
import { type Db, NOW_MS } from "@/db/client";
import { writeAuditTx } from "./audit";
import { AuthError } from "./errors";
import { hashPassword, PASSWORD_MAX, PASSWORD_MIN } from "./password";
import type { Actor, Role } from "./roles";

export const usernameSchema = z
  .string()
  .min(1, "username is required")
  .max(64, "username is at most 64 characters")
  .regex(/^[A-Za-z0-9._@-]+$/, "username may hold letters, digits and . _ @ - only");

export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `password is at most ${PASSWORD_MAX} characters`);

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new AuthError("INVALID_ARGUMENT", r.error.issues[0]?.message ?? "invalid");
  return r.data;
}

export interface UserRow {
  id: number;
  username: string;
  role: Role;
  createdAt: number;
}

export async function countUsers(db: Db): Promise<number> {
  const [r] = await db.select({ n: count() }).from(users);
  return Number(r?.n ?? 0);
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  const rows = await db
    .select({ id: users.id, username: users.username, role: users.role, createdAt: users.createdAt })
    .from(users)
    .orderBy(asc(users.username));
  return rows.map((r) => ({ ...r, role: r.role as Role }));
}

export async function findUser(db: Db, username: string) {
  const [row] = await db.select().from(users).where(eq(users.username, username));
  return row ? { ...row, role: row.role as Role } : undefined;
}

export async function addUser(db: Db, actor: Actor, input: { username: string; password: string; role: Role }) {
  const username = parse(usernameSchema, input.username);
  const passwordHash = await hashPassword(parse(passwordSchema, input.password));
  await db.transaction(async (tx) => {
    const [existing] = await tx.select({ id: users.id }).from(users).where(eq(users.username, username));
    if (existing) throw new AuthError("CONFLICT", `user ${username} already exists`);
    await tx.insert(users).values({ username, role: input.role, passwordHash, createdAt: NOW_MS, updatedAt: NOW_MS });
    await writeAuditTx(tx, actor, { action: "user.add", target: { username, role: input.role }, count: 1 });
  });
}

/** Sets a new password and signs the user out everywhere. */
export async function resetPassword(db: Db, actor: Actor, input: { username: string; password: string }) {
  const username = parse(usernameSchema, input.username);
  const passwordHash = await hashPassword(parse(passwordSchema, input.password));
  await db.transaction(async (tx) => {
    const [row] = await tx.select({ id: users.id }).from(users).where(eq(users.username, username)).for("update");
    if (!row) throw new AuthError("NOT_FOUND", `no user ${username}`);
    await tx.update(users).set({ passwordHash, updatedAt: NOW_MS }).where(eq(users.id, row.id));
    const ended = await tx.delete(sessions).where(eq(sessions.userId, row.id));
    await writeAuditTx(tx, actor, { action: "user.reset-password", target: { username }, count: 1 });
    return ended;
  });
}

export async function setRole(db: Db, actor: Actor, input: { username: string; role: Role }) {
  const username = parse(usernameSchema, input.username);
  await db.transaction(async (tx) => {
    const [row] = await tx.select({ id: users.id }).from(users).where(eq(users.username, username)).for("update");
    if (!row) throw new AuthError("NOT_FOUND", `no user ${username}`);
    await tx.update(users).set({ role: input.role, updatedAt: NOW_MS }).where(eq(users.id, row.id));
    await writeAuditTx(tx, actor, { action: "user.set-role", target: { username, role: input.role }, count: 1 });
  });
}

/** Removes a user and their sessions. */
export async function removeUser(db: Db, actor: Actor, input: { username: string }) {
  const username = parse(usernameSchema, input.username);
  await db.transaction(async (tx) => {
    const [row] = await tx.select({ id: users.id }).from(users).where(eq(users.username, username)).for("update");
    if (!row) throw new AuthError("NOT_FOUND", `no user ${username}`);
    await tx.delete(sessions).where(eq(sessions.userId, row.id));
    await tx.delete(users).where(eq(users.id, row.id));
    await writeAuditTx(tx, actor, { action: "user.remove", target: { username }, count: 1 });
  });
}
