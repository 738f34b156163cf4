import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { MAX_MATCHED_NAMES, mergeSoonestFirst, namesMatching, topicNames } from "@/server/trpc/name-filter";
import { pageSize, positiveInt, topicName } from "@/server/trpc/queue-inputs";

const cursor = z.object({ visibleAfter: positiveInt, logId: positiveInt }).strict();
/** Several topics page on: one cursor each (see mergeSoonestFirst). */
const topicsCursor = z
  .object({
    topics: z
      .record(topicName, cursor.nullable())
      .refine((r) => Object.keys(r).length <= MAX_MATCHED_NAMES, `at most ${MAX_MATCHED_NAMES} topics`),
  })
  .strict();

/**
 * Deferred messages soonest first, keyset-paged on (visibleAfter, logId):
 * `cursor` is the previous page's `next`. `remainingMs` is on the database's
 * clock at read time; the page counts down from there, so the browser's
 * clock does not matter. `topic` is a topic's full name or a part of one
 * (every topic containing it, ignoring case); `matched` names the topics read.
 */
// Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
export const list = viewerProcedure
  .input(
    z.object({
      topic: topicName.optional(),
      cursor: z.union([cursor, topicsCursor]).nullish(),
      limit: pageSize,
    }),
  )
  .query(async ({ ctx, input }) => {
    const { queue, store } = consoleDeps(ctx);
    const read = (topic: string | undefined, after: z.infer<typeof cursor> | null, limit: number) =>
      queue.inspect.listDeferred({ topic, after: after ?? undefined, limit });
    const given = input.cursor ?? null;
    if (input.topic === undefined) {
      const page = await read(undefined, given && "topics" in given ? null : given, input.limit);
      return { ...page, matched: null };
    }
    const matched = namesMatching(await topicNames(store.db), input.topic);
    const [only] = matched;
    if (matched.length === 1 && only !== undefined) {
      const page = await read(only, given && "topics" in given ? null : given, input.limit);
      return { ...page, matched };
    }
    if (matched.length === 0) return { rows: [], next: null, matched };
    const cursors = given && "topics" in given ? given.topics : Object.fromEntries(matched.map((t) => [t, null]));
    const page = await mergeSoonestFirst(cursors, input.limit, read);
    return { rows: page.rows, next: page.next ? { topics: page.next } : null, matched };
  });
