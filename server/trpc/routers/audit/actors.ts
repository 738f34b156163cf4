import { AUDIT_ACTIONS, listAuditActors } from "../../../auth/audit";
import { viewerProcedure } from "../../init";

/** Who appears in the audit log, and every action it can hold: the audit page's filter choices. */
export const actors = viewerProcedure.query(async ({ ctx }) => ({
  actors: await listAuditActors(ctx.pipeline().store.db),
  actions: [...AUDIT_ACTIONS],
}));
