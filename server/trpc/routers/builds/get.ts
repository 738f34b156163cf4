import { z } from "zod";
import { getBuildDetail } from "@/server/pipeline/reads";
import { viewerProcedure } from "@/server/trpc/init";

export const buildIdSchema = z.string().min(1).max(191);

/** One build with its batch (changes, requester, verdict), status history and the runner's metadata. */
export const get = viewerProcedure
  .input(z.object({ id: buildIdSchema }).strict())
  .query(({ ctx, input }) => getBuildDetail(ctx.pipeline(), input.id));
