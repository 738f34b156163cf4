// Failures that differ only in ids, numbers or quoted values belong together:
// "order 8812 not found" and "order 9907 not found" are one problem to an
// operator. The masked reason is stored with each DLQ row and indexed.
const RULES: Array<[RegExp, string]> = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>"],
  [/"(?:[^"\\]|\\.)*"/g, "<str>"],
  [/'(?:[^'\\]|\\.)*'/g, "<str>"],
  [/\b[0-9a-f]*[0-9][0-9a-f]*[a-f][0-9a-f]*\b|\b[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*\b/gi, "<hex>"],
  [/\b\d+(?:\.\d+)?\b/g, "<n>"],
  [/\s+/g, " "],
];

export const FAILURE_GROUP_MAX = 191;

export function failureGroup(reason: string): string {
  let out = reason;
  for (const [re, mask] of RULES) out = out.replace(re, mask);
  out = out.trim();
  return out.length > FAILURE_GROUP_MAX ? `${out.slice(0, FAILURE_GROUP_MAX - 1)}…` : out;
}
