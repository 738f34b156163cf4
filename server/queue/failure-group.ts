// Failures that differ only in ids, numbers or quoted values belong together:
// "order 8812 not found" and "order 9907 not found" are one problem to an
// operator. The masked reason is stored with each DLQ row and indexed.
//
// One left-to-right pass of one alternation, so an earlier kind of token
// claims its text before a later rule can cut it up (a uuid is never read
// as five hex ids, a quoted "8812" never as a number). Boundaries are "not a
// letter or digit" rather than \b, so `req_a3f9c21` and `id-0x1f` are
// masked too (\b does not split at `_`).
const EDGE_BEFORE = "(?<![0-9a-z])";
const EDGE_AFTER = "(?![0-9a-z])";
const TOKEN = new RegExp(
  [
    `(?<uuid>${EDGE_BEFORE}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}${EDGE_AFTER})`,
    `(?<str>"(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*')`,
    `(?<hex>${EDGE_BEFORE}0x[0-9a-f]+${EDGE_AFTER}` +
      // Six or more hex digits with at least one digit and one letter: a hash, an object id, a
      // short commit. Letters alone (`deadbeef`, `facade`) are words, never masked.
      `|${EDGE_BEFORE}(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{6,}${EDGE_AFTER})`,
    // A name with a short version after a hyphen (UTF-8, SHA-256, AES-128, HTTP-2) is the
    // same in every failure: kept whole. A longer number there is an id (order-8812).
    `(?<name>${EDGE_BEFORE}[a-z]+-[0-9]{1,3}(?![0-9a-z]|\\.[0-9]))`,
    // Every other run of digits, standing alone or glued to a unit or letters: 2708ms, user42,
    // worker_3, 1.5s. The letters stay (`<n>ms`): the unit says what kind of number it was.
    "(?<num>[0-9]+(?:\\.[0-9]+)?)",
  ].join("|"),
  "gi",
);

const MASKS: Record<string, string> = { uuid: "<uuid>", str: "<str>", hex: "<hex>", num: "<n>" };

export const FAILURE_GROUP_MAX = 191;
/** Ends a failure group that was cut at FAILURE_GROUP_MAX. */
export const TRUNCATED = "…";

export function failureGroup(reason: string): string {
  const masked = reason.replace(TOKEN, (match, ...rest) => {
    const groups = rest.at(-1) as Record<string, string | undefined>;
    for (const [kind, mask] of Object.entries(MASKS)) if (groups[kind] !== undefined) return mask;
    return match;
  });
  const out = masked.replace(/\s+/g, " ").trim();
  return out.length > FAILURE_GROUP_MAX ? `${out.slice(0, FAILURE_GROUP_MAX - 1)}${TRUNCATED}` : out;
}

/**
 * Whether a reason in `group` could contain `search` (case- and
 * accent-insensitively, as the DLQ search compares). Never false for a group
 * that has such a reason, so a search may skip every group it rejects.
 *
 * The masks above replace only quoted text and tokens made of digits and the
 * letters a-f and x (uuids, hex ids, `0x…`); every other letter of a reason
 * survives into its group. So each run of letters in the search that holds a
 * letter outside a-f and x must appear in the group, unless the group has a
 * quoted part (the run may be inside it) or was truncated (it may be past
 * the cut).
 */
export function groupMayContain(group: string, search: string): boolean {
  if (group.includes("<str>") || group.endsWith(TRUNCATED)) return true;
  const hay = fold(group);
  const runs = fold(search).match(/[a-z]+/g) ?? [];
  return runs.every((run) => !/[g-wyz]/.test(run) || hay.includes(run));
}

/** Lower case without accents: utf8mb4_general_ci, which the search's LIKE uses, equates `é` and `e`, `ß` and `s`. */
function fold(s: string): string {
  return s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase().replace(/ß/g, "s");
}

/**
 * Whether every reason in `group` contains `search` (as the DLQ search
 * compares), so the group's count is its number of matches. Only the text
 * the masks left as it was can tell: the search must be printable ASCII with
 * no space and no mask character, and lie within one run of the group between
 * masks and spaces (a space there stood for any run of white space). The
 * part of a truncated group before the cut is still the reason's own text.
 */
export function groupHolds(group: string, search: string): boolean {
  if (!/^[\x21-\x7e]+$/.test(search) || /[<>]/.test(search)) return false;
  const text = group.endsWith(TRUNCATED) ? group.slice(0, -TRUNCATED.length) : group;
  const needle = asciiLower(search);
  return text.split(/<uuid>|<str>|<hex>|<n>| /).some((piece) => asciiLower(piece).includes(needle));
}

/** Lower case for A-Z only: a wider fold (the Kelvin sign to k) would claim matches the database does not make. */
const asciiLower = (s: string) => s.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
