import { consoleDeps } from "../../console-deps";
import { viewerProcedure } from "../../init";
import { toDlqFilter } from "../../queue-filter";
import { dlqFilter } from "../../queue-inputs";

/** The exact number of rows a filter matches: what "requeue all matching" or "purge" would touch. */
export const count = viewerProcedure.input(dlqFilter).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  return { count: await queue.inspect.countDlq(toDlqFilter(input)) };
});
