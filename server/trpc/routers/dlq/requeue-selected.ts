import { z } from "zod";
import { consoleDeps } from "../../console-deps";
import { publicProcedure } from "../../init";
import { addressList } from "../../queue-inputs";

/** Requeues up to 500 picked dead letters in one transaction; rows already gone are skipped. */
export const requeueSelected = publicProcedure
  .input(z.object({ addresses: addressList }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const requeued = await queue.admin.requeueDeadLetters(input.addresses);
    return { requeued, requested: input.addresses.length };
  });
