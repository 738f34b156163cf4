import { requestBuild } from "../../../pipeline/actions";
import { buildRequestSchema } from "../../../pipeline/build-request-schema";
import { publicProcedure } from "../../init";

/** Until operators sign in, every build the console requests is the console's. */
const REQUESTER = "console";

/** Stores a batch and asks the pipeline to build it; the build appears once a worker handles it. */
export const trigger = publicProcedure.input(buildRequestSchema).mutation(async ({ ctx, input }) => {
  const batchId = await requestBuild(ctx.pipeline(), { ...input, requester: REQUESTER });
  return { batchId };
});
