import { z } from "zod";
import { auditWithin } from "../../../auth/audit";
import { consoleDeps } from "../../console-deps";
import { actorOf, operatorProcedure } from "../../init";
import { addressList } from "../../queue-inputs";

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
