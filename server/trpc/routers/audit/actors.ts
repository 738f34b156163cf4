import { AUDIT_ACTIONS, listAuditActors } from "@/server/auth/audit";
import { viewerProcedure } from "@/server/trpc/init";

/** Who appears in the audit log, and every action it can hold: the audit page's filter choices. */
export const actors = viewerProcedure.query(async ({ ctx }) => ({
  actors: await listAuditActors(ctx.pipeline().store.db),
  actions: [...AUDIT_ACTIONS],
}));
