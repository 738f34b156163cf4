import { auditWithin } from "../../../auth/audit";
import { consoleDeps } from "../../console-deps";
import { actorOf, operatorProcedure } from "../../init";
import { messageAddress } from "../../queue-inputs";

/** Sends one dead letter back to its original topic and group. NOT_FOUND when it is gone already. */
export const requeueOne = operatorProcedure.input(messageAddress).mutation(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  await queue.admin.requeueDeadLetter(input, { within: auditWithin(actorOf(ctx), "dlq.requeue", [input]) });
  return { requeued: 1 };
});
