// What the web server knows of a request's sender.
import { SESSION_COOKIE } from "./sessions";

/**
 * The client's address. Next.js fills X-Forwarded-For from the socket when
 * the request has none; behind a proxy, the proxy must overwrite it (a
 * client could otherwise name any address and dodge the per-address
 * sign-in limit, though never the per-account one).
 */
export function clientAddress(headers: Headers): string {
  const xff = headers.get("x-forwarded-for");
  const first = xff?.split(",")[0]?.trim();
  return (first || "unknown").slice(0, 64);
}

export function sessionToken(headers: Headers): string | undefined {
  const cookie = headers.get("cookie");
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Set-Cookie for a session: HttpOnly (no script reads it), SameSite=Lax, Secure when served over https. */
export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${token}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    `Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`,
  ];
  if (secure) parts.push("Secure");
  return parts.join("; ");
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}

export function isHttps(headers: Headers): boolean {
  return headers.get("x-forwarded-proto") === "https";
}
