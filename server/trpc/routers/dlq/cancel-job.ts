import { z } from "zod";
import { consoleDeps } from "../../console-deps";
import { publicProcedure } from "../../init";
import { jobId } from "../../queue-inputs";

/** Asks a job to stop after its current batch; rows already handled stay handled. */
export const cancelJob = publicProcedure.input(z.object({ id: jobId })).mutation(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  await queue.admin.cancelJob(input.id);
  return queue.inspect.getJob(input.id);
});
