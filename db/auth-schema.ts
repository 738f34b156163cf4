// Who may use the console and what they did: users with a role, their
// sessions, failed sign-in counts (for rate limits) and the audit log. Times are ms
// on the database's clock.
import { bigint, index, int, mysqlTable, text, varchar } from "drizzle-orm/mysql-core";

const ms = (name: string) => bigint(name, { mode: "number", unsigned: true });

/** Console users. `role` is "viewer" (reads) or "operator" (reads and acts). */
export const users = mysqlTable("users", {
  id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
  username: varchar("username", { length: 64 }).notNull().unique("users_username"),
  role: varchar("role", { length: 16 }).notNull(),
  // scrypt$N$r$p$salt$key (server/auth/password.ts); never the password.
  passwordHash: varchar("password_hash", { length: 255 }).notNull(),
  createdAt: ms("created_at").notNull(),
  updatedAt: ms("updated_at").notNull(),
});

/**
 * Signed-in sessions. The cookie holds a random token; only its SHA-256 is
 * stored, so a copy of this table signs nobody in.
 */
export const sessions = mysqlTable(
  "sessions",
  {
    tokenHash: varchar("token_hash", { length: 64 }).primaryKey(),
    userId: bigint("user_id", { mode: "number", unsigned: true }).notNull(),
    address: varchar("address", { length: 64 }).notNull(),
    createdAt: ms("created_at").notNull(),
    expiresAt: ms("expires_at").notNull(),
  },
  (t) => [index("sessions_user").on(t.userId), index("sessions_expires").on(t.expiresAt)],
);

/**
 * Failed sign-ins per key ("account:<username>" or "address:<address or IPv6 /64>"):
 * how many since the last quiet spell, and when the last one was. A sign-in
 * locks its keys' rows to check and count in one step (server/auth/signin.ts).
 */
export const signinThrottle = mysqlTable("signin_throttle", {
  key: varchar("key", { length: 96 }).primaryKey(),
  failures: int("failures", { unsigned: true }).notNull(),
  lastAt: ms("last_at").notNull(),
});

/**
 * What operators did, written in the same transaction as the change itself:
 * if the change rolls back, so does its row.
 */
export const auditLog = mysqlTable(
  "audit_log",
  {
    id: bigint("id", { mode: "number", unsigned: true }).autoincrement().primaryKey(),
    at: ms("at").notNull(),
    // A console username, or "cli:<os user>" for the sluice command.
    actor: varchar("actor", { length: 128 }).notNull(),
    action: varchar("action", { length: 64 }).notNull(),
    // What it acted on: ids, addresses or the filter, as JSON.
    target: text("target").notNull(),
    // Rows the change touched.
    count: int("count", { unsigned: true }).notNull(),
    address: varchar("address", { length: 64 }).notNull(),
  },
  // Newest first is id order; InnoDB appends id to each secondary index, so
  // "actor = ? ORDER BY id DESC" reads (actor, id) in order.
  (t) => [index("audit_log_actor").on(t.actor), index("audit_log_action").on(t.action)],
);
