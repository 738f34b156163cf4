import { z } from "zod";
import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { jobId } from "@/server/trpc/queue-inputs";

/** Asks a job to stop after its current batch; rows already handled stay handled. */
export const cancelJob = operatorProcedure.input(z.object({ id: jobId })).mutation(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  await queue.admin.cancelJob(input.id, { within: auditWithin(actorOf(ctx), "dlq.cancel-job", { job: input.id }) });
  return queue.inspect.getJob(input.id);
});
