// Turns a mysql2 / network error into one sentence an operator can act on.
// Used by the scripts (migrate, run, worker) and the health check.

import { redactUrl } from "@/db/url";

export { redactUrl };

interface ErrorLike {
  code?: string;
  errno?: number;
  message?: string;
  errors?: unknown[];
}

/** The error code of a mysql2 or socket error; AggregateErrors (IPv4 + IPv6 attempts) give their first. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as ErrorLike;
  if (e.code) return e.code;
  const inner = e.errors?.[0];
  return inner ? errorCode(inner) : undefined;
}

function errorMessage(err: unknown): string {
  if (typeof err === "object" && err !== null) {
    const e = err as ErrorLike;
    if (e.message) return e.message;
    const inner = e.errors?.[0];
    if (inner) return errorMessage(inner);
  }
  return String(err);
}

/** True when nothing listens at the address (the case the embedded database covers). */
export function isConnectionRefused(err: unknown): boolean {
  return errorCode(err) === "ECONNREFUSED";
}

/** One sentence: what went wrong with the database at `url`, and what to do about it. */
export function describeDatabaseError(err: unknown, url: string): string {
  const at = redactUrl(url);
  let host = "";
  let user = "";
  let database = "";
  try {
    const u = new URL(url);
    host = u.hostname;
    user = decodeURIComponent(u.username);
    database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  } catch {
    // the redacted URL already says it is unparseable
  }
  switch (errorCode(err)) {
    case "ECONNREFUSED":
      return `Cannot reach MariaDB/MySQL at ${at}: connection refused. Start MariaDB or set DATABASE_URL.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `Cannot reach MariaDB/MySQL at ${at}: host "${host}" not found. Check the host in DATABASE_URL.`;
    case "ETIMEDOUT":
      return `Cannot reach MariaDB/MySQL at ${at}: the connection timed out. Check that the server runs and that the host and port in DATABASE_URL are right.`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `Cannot reach MariaDB/MySQL at ${at}: no route to host "${host}". Check the host in DATABASE_URL.`;
    case "ER_ACCESS_DENIED_ERROR":
    case "ER_ACCESS_DENIED_NO_PASSWORD_ERROR":
      return `MariaDB/MySQL at ${at} refused the login of user "${user}": access denied. Check the user and password in DATABASE_URL.`;
    case "ER_DBACCESS_DENIED_ERROR":
      return `MariaDB/MySQL at ${at} does not let user "${user}" use database "${database}". Grant it, or use another user in DATABASE_URL.`;
    case "ER_BAD_DB_ERROR":
      return `Database "${database}" does not exist at ${at}. Run npm run db:migrate to create it.`;
    case "ER_CON_COUNT_ERROR":
      return `MariaDB/MySQL at ${at} has too many connections. Try again, or raise max_connections.`;
    default:
      return `Database error at ${at}: ${errorMessage(err)}`;
  }
}
