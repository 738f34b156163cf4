import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";

/** The DLQ topics (names ending in _dlq), for the topic picker. */
export const topics = viewerProcedure.query(async ({ ctx }) => {
  const { queue } = consoleDeps(ctx);
  return queue.inspect.listDlqTopics();
});
