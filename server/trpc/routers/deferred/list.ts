import { z } from "zod";
import { consoleDeps } from "../../console-deps";
import { viewerProcedure } from "../../init";
import { pageSize, positiveInt, topicName } from "../../queue-inputs";

/**
 * Deferred messages soonest first, keyset-paged on (visibleAfter, logId):
 * `cursor` is the previous page's `next`. `remainingMs` is on the database's
 * clock at read time; the page counts down from there, so the browser's
 * clock does not matter.
 */
// Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
export const list = viewerProcedure
  .input(
    z.object({
      topic: topicName.optional(),
      cursor: z.object({ visibleAfter: positiveInt, logId: positiveInt }).strict().nullish(),
      limit: pageSize,
    }),
  )
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    return queue.inspect.listDeferred({ topic: input.topic, after: input.cursor ?? undefined, limit: input.limit });
  });
