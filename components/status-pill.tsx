// A small coloured status marker with a label, e.g. "Database reachable · 1.2 ms".
export interface StatusPillProps {
  ok: boolean;
  label: string;
  /** Shown under the pill when present (e.g. why the database is unreachable). */
  detail?: string;
  /** Not known yet (a first check in flight): a neutral marker. */
  pending?: boolean;
}

export function StatusPill({ ok, label, detail, pending = false }: StatusPillProps) {
  return (
    <div>
      <span
        className={`status ${pending ? "status-pending" : ok ? "status-ok" : "status-bad"}`}
        role="status"
        data-ok={pending ? undefined : ok}
      >
        <span className="status-dot" aria-hidden="true" />
        {label}
      </span>
      {detail ? <p className="status-detail muted">{detail}</p> : null}
    </div>
  );
}
