// Topic and queue filters that match part of a name. The libraries filter by
// one exact name (an index range each); these helpers turn a piece of a name
// into the names holding it and merge their keyset pages, so the libraries'
// queries and their cost per page stay as they are.
import type { Db } from "@/db/client";
import { builds, queuePartitions } from "@/db/schema";
import type { DeferredCursor } from "@/server/queue";

/** At most this many names are read for one filter (one query each per page). */
export const MAX_MATCHED_NAMES = 50;

/**
 * The names a filter means: a name given in full means that one alone (a
 * link to one topic's view must not pull in its neighbours); otherwise every
 * name containing the text, ignoring case, in name order.
 */
export function namesMatching(names: Iterable<string>, text: string): string[] {
  const all = [...new Set(names)];
  if (all.includes(text)) return [text];
  const needle = text.toLowerCase();
  return all
    .filter((n) => n.toLowerCase().includes(needle))
    .sort()
    .slice(0, MAX_MATCHED_NAMES);
}

export interface BuildsPage<Row> {
  rows: Row[];
  nextCursor: { createdAt: number; id: string } | null;
}

/**
 * Newest-first pages of several queues, read with the same cursor, merged
 * into one. (created_at, id) orders builds across queues too, so the last
 * row taken is the next page's cursor for every queue.
 */
export function mergeNewestFirst<Row extends { createdAt: number; id: string }>(
  pages: Array<BuildsPage<Row>>,
  limit: number,
): BuildsPage<Row> {
  const rows = pages
    .flatMap((p) => p.rows)
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const page = rows.slice(0, limit);
  const more = rows.length > limit || pages.some((p) => p.nextCursor !== null);
  const last = page.at(-1);
  return { rows: page, nextCursor: more && last ? { createdAt: last.createdAt, id: last.id } : null };
}

/** Where each topic's next page starts: null for "from its first row", absent for "none left". */
export type TopicCursors = Record<string, DeferredCursor | null>;

/** One topic's page as listDeferred returns it, whatever its rows are: what mergeSoonestFirst merges. */
export interface TopicDeferredPage<Row> {
  rows: Row[];
  next: DeferredCursor | null;
}

/**
 * Soonest-first pages of several topics merged into one. Rows carry no log
 * id, so one cursor cannot say where a page ended among rows of different
 * topics due in the same millisecond: each topic keeps a cursor of its own
 * instead. A topic whose page was taken only in part is read again up to
 * the last row taken, which gives that row's exact cursor.
 */
export async function mergeSoonestFirst<Row extends { visibleAfter: number }>(
  cursors: TopicCursors,
  limit: number,
  read: (topic: string, after: DeferredCursor | null, limit: number) => Promise<TopicDeferredPage<Row>>,
): Promise<{ rows: Row[]; next: TopicCursors | null }> {
  const topics = Object.keys(cursors);
  const pages = await Promise.all(topics.map((t) => read(t, cursors[t] ?? null, limit)));
  const tagged = pages.flatMap((p, i) => p.rows.map((row, at) => ({ row, topic: i, at })));
  // Stable: within a topic the rows keep their order; between topics a tie can go either way.
  tagged.sort((a, b) => a.row.visibleAfter - b.row.visibleAfter);
  const taken = tagged.slice(0, limit);
  const takenOf = topics.map((_, i) => taken.filter((t) => t.topic === i).length);
  const next: TopicCursors = {};
  await Promise.all(
    topics.map(async (topic, i) => {
      const page = pages[i] as TopicDeferredPage<Row>;
      const n = takenOf[i] as number;
      const from = cursors[topic] ?? null;
      if (n < page.rows.length) {
        // Part of its page shown: the rest (and beyond) come next, from its n-th row on.
        next[topic] = n === 0 ? from : (await read(topic, from, n)).next;
      } else if (page.next !== null) {
        next[topic] = page.next;
      }
    }),
  );
  return { rows: taken.map((t) => t.row), next: Object.keys(next).length > 0 ? next : null };
}

/** At most this many names are looked through (a console with more topics or queues than that is not expected). */
const MAX_NAMES = 5_000;

/** Every topic with a partition: DISTINCT over the primary key's first column, a loose index scan. */
export async function topicNames(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ name: queuePartitions.topic }).from(queuePartitions).limit(MAX_NAMES);
  return rows.map((r) => r.name);
}

/** Every queue that has builds (the builds_queue index). */
export async function buildQueueNames(db: Db): Promise<string[]> {
  const rows = await db.selectDistinct({ name: builds.queue }).from(builds).limit(MAX_NAMES);
  return rows.map((r) => r.name);
}
