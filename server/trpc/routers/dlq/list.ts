import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { toDlqFilter } from "@/server/trpc/queue-filter";
import { dlqFilter, pageSize, positiveInt } from "@/server/trpc/queue-inputs";

/** Failed messages newest first, filtered, keyset-paged on log id (`cursor` is the previous page's `next`). */
// Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
export const list = viewerProcedure
  .input(dlqFilter.extend({ cursor: positiveInt.nullish(), limit: pageSize }))
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const page = await queue.inspect.listDlq(toDlqFilter(input), {
      before: input.cursor ?? undefined,
      limit: input.limit,
    });
    return { ...page, serverNow: Date.now() };
  });
