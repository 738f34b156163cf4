import { z } from "zod";
import { auditJob } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { toDlqFilter } from "@/server/trpc/queue-filter";
import { dlqFilter, ratePerSecond } from "@/server/trpc/queue-inputs";
import { startJob } from "@/server/trpc/start-job";

/**
 * Deletes everything the filter matches, as a job. `expectedCount` is the
 * count the operator confirmed: if the filter now matches a different
 * number, nothing is deleted and the error says so. The audit row counts
 * what the job really deleted (see auditJob).
 */
export const purge = operatorProcedure
  .input(
    z.object({
      filter: dlqFilter,
      expectedCount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      ratePerSecond: ratePerSecond.unwrap().default(1000),
    }),
  )
  .mutation(async ({ ctx, input }) => {
    const deps = consoleDeps(ctx);
    const job = await deps.queue.admin.createJob(
      {
        kind: "purge",
        filter: toDlqFilter(input.filter),
        ratePerSecond: input.ratePerSecond,
        createdBy: ctx.user.username,
        expectedCount: input.expectedCount,
      },
      { audit: auditJob(actorOf(ctx), "dlq.purge", toDlqFilter(input.filter)) },
    );
    startJob(deps, job);
    return job;
  });
