import { z } from "zod";
import { consoleDeps } from "../../console-deps";
import { publicProcedure } from "../../init";
import { toDlqFilter } from "../../queue-filter";
import { dlqFilter, ratePerSecond } from "../../queue-inputs";
import { startJob } from "../../start-job";

/**
 * Requeues everything the filter matches now, as a paced job started in this
 * process: the request returns the job at once and the page polls it.
 */
export const requeueMatching = publicProcedure
  .input(z.object({ filter: dlqFilter, ratePerSecond }))
  .mutation(async ({ ctx, input }) => {
    const deps = consoleDeps(ctx);
    const job = await deps.queue.admin.createJob({
      kind: "requeue",
      filter: toDlqFilter(input.filter),
      ratePerSecond: input.ratePerSecond,
      createdBy: "console",
    });
    startJob(deps, job);
    return job;
  });
