import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { messageAddress } from "@/server/trpc/queue-inputs";

/** Sends one dead letter back to its original topic and group. NOT_FOUND when it is gone already. */
export const requeueOne = operatorProcedure.input(messageAddress).mutation(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  await queue.admin.requeueDeadLetter(input, { within: auditWithin(actorOf(ctx), "dlq.requeue", [input]) });
  return { requeued: 1 };
});
