import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";

/** Every topic's and group's traffic per minute over the last hour: the overview's sparklines. */
export const sparklines = viewerProcedure.query(async ({ ctx }) => {
  const { queue } = consoleDeps(ctx);
  return queue.inspect.trafficSparklines();
});
