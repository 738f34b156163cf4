import { z } from "zod";
import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { addressList } from "@/server/trpc/queue-inputs";

/** Makes the addressed deferred messages visible now (one, or up to 500 picked rows). */
export const deliverNow = operatorProcedure
  .input(z.object({ addresses: addressList }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const delivered = await queue.admin.deliverNow(input.addresses, {
      within: auditWithin(actorOf(ctx), "deferred.deliver-now", input.addresses),
    });
    // Rows already delivered (their time came, or someone else clicked) are skipped, not errors.
    return { delivered, requested: input.addresses.length };
  });
