import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { groupName, topicName, trafficRange } from "@/server/trpc/queue-inputs";

/**
 * A topic's traffic per minute over the last hour or day, from the queue's
 * rollup: published, and acked, nacked, dead-lettered, lag and oldest-pending
 * age of `group` (of every group together without one). On a DLQ topic,
 * published is its inflow.
 */
export const traffic = viewerProcedure
  .input(z.object({ topic: topicName, group: groupName.optional(), range: trafficRange }))
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    return queue.inspect.traffic(input.topic, { group: input.group ?? null, range: input.range });
  });
