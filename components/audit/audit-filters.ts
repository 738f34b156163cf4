// The audit page's filters as they appear in the address (?actor=&action=).
export interface AuditView {
  actor?: string;
  action?: string;
}

export function auditHref(view: AuditView): string {
  const q = new URLSearchParams();
  if (view.actor) q.set("actor", view.actor);
  if (view.action) q.set("action", view.action);
  const s = q.toString();
  return s ? `/audit?${s}` : "/audit";
}
