import { z } from "zod";
import { auditJob } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { toDlqFilter } from "@/server/trpc/queue-filter";
import { dlqFilter, ratePerSecond } from "@/server/trpc/queue-inputs";
import { startJob } from "@/server/trpc/start-job";

/**
 * Requeues everything the filter matches now, as a paced job started in this
 * process: the request returns the job at once and the page polls it.
 * `expectedCount` is the count the operator confirmed: if the filter now
 * matches another number, nothing moves and the error says so. The audit row
 * counts what the job really moved (see auditJob).
 */
export const requeueMatching = operatorProcedure
  .input(
    z.object({
      filter: dlqFilter,
      ratePerSecond,
      expectedCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const deps = consoleDeps(ctx);
    const job = await deps.queue.admin.createJob(
      {
        kind: "requeue",
        filter: toDlqFilter(input.filter),
        ratePerSecond: input.ratePerSecond,
        createdBy: ctx.user.username,
        expectedCount: input.expectedCount,
      },
      { audit: auditJob(actorOf(ctx), "dlq.requeue-matching", toDlqFilter(input.filter)) },
    );
    startJob(deps, job);
    return job;
  });
