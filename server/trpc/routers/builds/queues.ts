import { configuredQueues } from "../../../pipeline/reads";
import { publicProcedure } from "../../init";

/** The queues the runner configuration names, with their runner kind, and the default runner's kind. */
export const queues = publicProcedure.query(({ ctx }) => configuredQueues(ctx.pipeline()));
