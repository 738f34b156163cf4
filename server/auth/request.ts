// What the web server knows of a request's sender.
import { SESSION_COOKIE } from "./sessions";

/**
 * The client's address. scripts/serve.ts puts the socket's address in
 * X-Forwarded-For, replacing whatever the client sent, unless
 * SLUICE_TRUST_PROXY says a proxy in front sets it. A proxy that appends
 * (nginx's $proxy_add_x_forwarded_for) leaves the client's own entries in
 * front of the one it added: only the rightmost entry is the proxy's word,
 * so that is the one used (a client could otherwise name any address and
 * dodge the per-address sign-in limit, though never the per-account one).
 */
export function clientAddress(headers: Headers): string {
  return (lastForwarded(headers.get("x-forwarded-for")) || "unknown").slice(0, 64);
}

/** The rightmost entry of a comma-separated forwarding header: the one the nearest proxy added. */
export function lastForwarded(value: string | null | undefined): string {
  return value?.split(",").at(-1)?.trim() ?? "";
}

export function sessionToken(headers: Headers): string | undefined {
  const cookie = headers.get("cookie");
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      // A cookie that does not decode (%E0%A4%A) is no session, not a server error.
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
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
  return lastForwarded(headers.get("x-forwarded-proto")) === "https";
}
