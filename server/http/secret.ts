// Comparing a secret a client sent with the configured one: in constant time,
// and without leaking the configured secret's length (both sides are hashed
// to the same length first).
import { createHash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

export function secretMatches(given: string | null | undefined, expected: string | undefined): boolean {
  // An unconfigured secret accepts nothing, not even an empty one.
  if (!given || !expected) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(headers: Headers): string | undefined {
  const m = /^Bearer ([^\s]+)$/i.exec(headers.get("authorization")?.trim() ?? "");
  return m?.[1];
}
