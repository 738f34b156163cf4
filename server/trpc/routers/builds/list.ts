import { z } from "zod";
import { buildFilterSchema, pageSizeSchema } from "../../../pipeline/build-request-schema";
import { listBuilds } from "../../../pipeline/reads";
import { viewerProcedure } from "../../init";

/** Where the next page starts: the last row of this one. */
export const buildCursorSchema = z
  .object({ createdAt: z.number().int().min(0), id: z.string().min(1).max(191) })
  .strict();

/**
 * Builds newest first, filtered by status and queue, keyset-paged: pass the
 * previous page's `nextCursor` as `cursor` (null when there is no more).
 */
export const list = viewerProcedure
  // Not strict: useInfiniteQuery adds a `direction` of its own, dropped here.
  .input(buildFilterSchema.extend({ cursor: buildCursorSchema.nullish(), limit: pageSizeSchema.default(50) }))
  .query(async ({ ctx, input }) => {
    const page = await listBuilds(ctx.pipeline(), input);
    return { items: page.rows, nextCursor: page.nextCursor };
  });
