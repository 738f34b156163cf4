import { z } from "zod";
import { STATE_FILTERS } from "@/server/queue";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { groupName, pageSize, partitionKey, positiveInt, topicName } from "@/server/trpc/queue-inputs";

/**
 * A topic's messages newest first, in one consumer group's view of their
 * state. Keyset-paged on log id (`cursor` is the previous page's `next`);
 * ready, done and dead pages come from a bounded scan, so a page may be short, or
 * empty, while `next` still points on.
 */
// Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
export const messages = viewerProcedure
  .input(
    z.object({
      topic: topicName,
      group: groupName.nullable().default(null),
      state: z.enum(STATE_FILTERS).default("all"),
      partitionKey: partitionKey.optional(),
      cursor: positiveInt.nullish(),
      limit: pageSize,
    }),
  )
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const page = await queue.inspect.listMessages(input.topic, {
      group: input.group,
      state: input.state,
      partitionKey: input.partitionKey,
      before: input.cursor ?? undefined,
      limit: input.limit,
    });
    return { ...page, serverNow: Date.now() };
  });
