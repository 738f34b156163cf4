import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { jobId } from "@/server/trpc/queue-inputs";

/** A requeue or purge job's state and progress. */
export const job = viewerProcedure.input(z.object({ id: jobId })).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  const found = await queue.inspect.getJob(input.id);
  if (!found) throw new TRPCError({ code: "NOT_FOUND", message: `There is no job ${input.id}.` });
  return found;
});
