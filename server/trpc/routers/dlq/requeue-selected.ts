import { z } from "zod";
import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { addressList } from "@/server/trpc/queue-inputs";

/** Requeues up to 500 picked dead letters in one transaction; rows already gone are skipped. */
export const requeueSelected = operatorProcedure
  .input(z.object({ addresses: addressList }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const requeued = await queue.admin.requeueDeadLetters(input.addresses, {
      within: auditWithin(actorOf(ctx), "dlq.requeue", input.addresses),
    });
    return { requeued, requested: input.addresses.length };
  });
