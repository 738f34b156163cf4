import { consoleDeps } from "../../console-deps";
import { publicProcedure } from "../../init";
import { messageAddress } from "../../queue-inputs";

/** Sends one dead letter back to its original topic and group. NOT_FOUND when it is gone already. */
export const requeueOne = publicProcedure.input(messageAddress).mutation(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  await queue.admin.requeueDeadLetter(input);
  return { requeued: 1 };
});
