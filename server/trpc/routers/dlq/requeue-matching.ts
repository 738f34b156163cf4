import { z } from "zod";
import { auditWithin } from "../../../auth/audit";
import { consoleDeps } from "../../console-deps";
import { actorOf, operatorProcedure } from "../../init";
import { toDlqFilter } from "../../queue-filter";
import { dlqFilter, ratePerSecond } from "../../queue-inputs";
import { startJob } from "../../start-job";

/**
 * Requeues everything the filter matches now, as a paced job started in this
 * process: the request returns the job at once and the page polls it.
 */
export const requeueMatching = operatorProcedure
  .input(z.object({ filter: dlqFilter, ratePerSecond }))
  .mutation(async ({ ctx, input }) => {
    const deps = consoleDeps(ctx);
    const job = await deps.queue.admin.createJob(
      {
        kind: "requeue",
        filter: toDlqFilter(input.filter),
        ratePerSecond: input.ratePerSecond,
        createdBy: ctx.user.username,
      },
      { within: auditWithin(actorOf(ctx), "dlq.requeue-matching", input.filter) },
    );
    startJob(deps, job);
    return job;
  });
