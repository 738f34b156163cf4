import { z } from "zod";
import { getBatchProgress } from "@/server/pipeline/reads";
import { viewerProcedure } from "@/server/trpc/init";

/**
 * A batch just requested, and its build's id once a worker has triggered it
 * (null until then): what the console shows between "trigger" and the build.
 */
export const batch = viewerProcedure
  .input(z.object({ batchId: z.string().min(1).max(64) }).strict())
  .query(({ ctx, input }) => getBatchProgress(ctx.pipeline(), input.batchId));
