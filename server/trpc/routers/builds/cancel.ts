import { z } from "zod";
import { writeAuditTx } from "@/server/auth/audit";
import { cancelBuild } from "@/server/pipeline/actions";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { buildIdSchema } from "./get";

/** Asks the runner to stop a build; "already-finished" when it had ended (nothing to cancel). */
export const cancel = operatorProcedure
  .input(z.object({ id: buildIdSchema }).strict())
  .mutation(async ({ ctx, input }) => {
    const actor = actorOf(ctx);
    const result = await cancelBuild(ctx.pipeline(), input.id, {
      within: (tx) => writeAuditTx(tx, actor, { action: "build.cancel", target: { build: input.id }, count: 1 }),
    });
    return { result };
  });
