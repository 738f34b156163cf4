// The overview page in one call: every topic's counts and group lag, live
// workers and builds by status. Each part is bounded (counts stop at 10,000;
// the rest follow the number of partitions, groups and subscribers).
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";

export const overview = viewerProcedure.query(async ({ ctx }) => {
  const { queue, store } = consoleDeps(ctx);
  const [topics, subscribers, builds] = await Promise.all([
    queue.inspect.listTopics(),
    queue.inspect.listSubscribers(),
    store.countBuildsByStatus(),
  ]);
  const alive = subscribers.filter((s) => s.alive);
  return {
    topics,
    workers: {
      // A worker process runs one subscriber per topic it consumes: count processes, not subscriptions.
      aliveProcesses: new Set(alive.map((s) => `${s.host}:${s.pid}`)).size,
      aliveSubscribers: alive.length,
      totalSubscribers: subscribers.length,
    },
    builds,
    serverNow: Date.now(),
  };
});
