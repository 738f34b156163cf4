import { configuredQueues } from "@/server/pipeline/reads";
import { viewerProcedure } from "@/server/trpc/init";

/** The queues the runner configuration names, with their runner kind, and the default runner's kind. */
export const queues = viewerProcedure.query(({ ctx }) => configuredQueues(ctx.pipeline()));
