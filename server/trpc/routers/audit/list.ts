import { z } from "zod";
import { AUDIT_ACTIONS, listAudit } from "@/server/auth/audit";
import { viewerProcedure } from "@/server/trpc/init";

export const AUDIT_PAGE_MAX = 200;

/** The audit log, newest first, by actor and action, keyset-paged on id. */
export const list = viewerProcedure
  // Not strict: TanStack's infinite queries add `direction` to the input.
  .input(
    z.object({
      actor: z.string().min(1).max(128).optional(),
      action: z.enum(AUDIT_ACTIONS).optional(),
      cursor: z.number().int().positive().nullish(),
      limit: z.number().int().min(1).max(AUDIT_PAGE_MAX).default(50),
    }),
  )
  .query(async ({ ctx, input }) => {
    const page = await listAudit(ctx.pipeline().store.db, {
      actor: input.actor,
      action: input.action,
      before: input.cursor ?? undefined,
      limit: input.limit,
    });
    return { items: page.rows, nextCursor: page.next };
  });
