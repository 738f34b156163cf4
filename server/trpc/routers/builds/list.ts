import { z } from "zod";
import { buildFilterSchema, pageSizeSchema } from "@/server/pipeline/build-request-schema";
import { listBuilds } from "@/server/pipeline/reads";
import { viewerProcedure } from "@/server/trpc/init";
import { buildQueueNames, mergeNewestFirst, namesMatching } from "@/server/trpc/name-filter";

/** Where the next page starts: the last row of this one. */
export const buildCursorSchema = z
  .object({ createdAt: z.number().int().min(0), id: z.string().min(1).max(191) })
  .strict();

/**
 * Builds newest first, filtered by status and queue, keyset-paged: pass the
 * previous page's `nextCursor` as `cursor` (null when there is no more).
 * `queue` is a queue's full name or a part of one (every queue with builds
 * containing it, ignoring case).
 */
export const list = viewerProcedure
  // Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
  .input(buildFilterSchema.extend({ cursor: buildCursorSchema.nullish(), limit: pageSizeSchema.default(50) }))
  .query(async ({ ctx, input }) => {
    const deps = ctx.pipeline();
    const read = (queue: string | undefined) => listBuilds(deps, { ...input, queue });
    if (input.queue === undefined) {
      const page = await read(undefined);
      return { items: page.rows, nextCursor: page.nextCursor };
    }
    const queues = namesMatching(await buildQueueNames(deps.store.db), input.queue);
    // No queue has builds by that name yet: still ask for it, so a build arriving there shows up.
    if (queues.length <= 1) {
      const page = await read(queues[0] ?? input.queue);
      return { items: page.rows, nextCursor: page.nextCursor };
    }
    const page = mergeNewestFirst(await Promise.all(queues.map(read)), input.limit);
    return { items: page.rows, nextCursor: page.nextCursor };
  });
