// Where the sign-in page sends a user afterwards (?next=): a path of this
// very site, or "/". Browsers read "/\evil.example" as "//evil.example" and
// drop tabs and newlines from URLs, so "starts with one slash" is not enough:
// backslashes and control characters are refused outright, and what is left
// must resolve to this origin. Pure, for the page and the form alike.

const BASE = "http://sluice.invalid";
const MAX_LENGTH = 2048;

/** `next` if it is a same-origin path (normalised), "/" for anything else, including a missing or repeated parameter. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== "string" || next.length === 0 || next.length > MAX_LENGTH) return "/";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return "/";
  if (!next.startsWith("/") || next.startsWith("//")) return "/";
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return "/";
  }
  if (url.origin !== BASE) return "/";
  return url.pathname + url.search + url.hash;
}
