import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";

/** Subscribers with their heartbeats and the leases they hold (up to 20 listed each). */
export const list = viewerProcedure.query(async ({ ctx }) => {
  const { queue } = consoleDeps(ctx);
  return { subscribers: await queue.inspect.listSubscribers(), serverNow: Date.now() };
});
