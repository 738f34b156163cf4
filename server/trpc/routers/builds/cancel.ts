import { z } from "zod";
import { cancelBuild } from "../../../pipeline/actions";
import { publicProcedure } from "../../init";
import { buildIdSchema } from "./get";

/** Asks the runner to stop a build; "already-finished" when it had ended (nothing to cancel). */
export const cancel = publicProcedure
  .input(z.object({ id: buildIdSchema }).strict())
  .mutation(async ({ ctx, input }) => ({ result: await cancelBuild(ctx.pipeline(), input.id) }));
