import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { pageSize, partitionKey, topicName } from "@/server/trpc/queue-inputs";

/** A topic's partitions by key, keyset-paged: `cursor` is the previous page's `next` (its last key). */
// Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
export const partitions = viewerProcedure
  .input(z.object({ topic: topicName, cursor: partitionKey.nullish(), limit: pageSize }))
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const page = await queue.inspect.listPartitions(input.topic, {
      after: input.cursor ?? undefined,
      limit: input.limit,
    });
    return { ...page, serverNow: Date.now() };
  });
