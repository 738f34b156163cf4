import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { toDlqFilter } from "@/server/trpc/queue-filter";
import { dlqFilter } from "@/server/trpc/queue-inputs";

/**
 * Failures grouped by their normalised reason, biggest first (up to 50),
 * counting only the rows the search and original group match: each group's
 * count is what its own requeue or purge would move.
 */
export const failureGroups = viewerProcedure
  .input(dlqFilter.omit({ failureGroup: true }))
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const { failureGroup: _ignored, ...filter } = toDlqFilter(input);
    return queue.inspect.dlqFailureGroups(filter);
  });
