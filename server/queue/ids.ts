// Message ids name the occasion to publish, not the entity. A poll loop that
// re-publishes "poll build 42" under the id "42" has every poll after the
// first swallowed by dedup; the id of a poll must say *which* poll.
import { createHash, randomUUID } from "node:crypto";
import { ID_MAX } from "./names";

/**
 * A deterministic id from the parts that make an occasion unique, e.g.
 * `occasionId("poll", buildId, pollNumber)` → "poll:b-42:7". Publishing the
 * same occasion twice (a retry) dedups; a new occasion gets a new id.
 * Ids longer than the column are shortened to a prefix plus a digest.
 */
export function occasionId(...parts: Array<string | number>): string {
  if (parts.length === 0) throw new Error("occasionId needs at least one part");
  const id = parts.map((p) => String(p).replaceAll("%", "%25").replaceAll(":", "%3A")).join(":");
  if (id.length <= ID_MAX) return id;
  const digest = createHash("sha256").update(id).digest("hex");
  return `${id.slice(0, ID_MAX - digest.length - 1)}#${digest}`;
}

/** A fresh id for an occasion that has no natural key of its own. */
export function uniqueOccasionId(prefix: string): string {
  return occasionId(prefix, randomUUID());
}
