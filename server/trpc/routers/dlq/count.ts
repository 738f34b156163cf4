import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { toDlqFilter } from "@/server/trpc/queue-filter";
import { dlqFilter } from "@/server/trpc/queue-inputs";

/** The exact number of rows a filter matches: what "requeue all matching" or "purge" would touch. */
export const count = viewerProcedure.input(dlqFilter).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  return { count: await queue.inspect.countDlq(toDlqFilter(input)) };
});
