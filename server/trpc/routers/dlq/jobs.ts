import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";

/** The most recent requeue and purge jobs, newest first. */
export const jobs = viewerProcedure
  .input(z.object({ limit: z.number().int().min(1).max(50).default(10) }).default({ limit: 10 }))
  .query(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    return queue.inspect.listJobs(input.limit);
  });
