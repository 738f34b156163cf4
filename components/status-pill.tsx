// A small coloured status marker with a label, e.g. "Database reachable · 1.2 ms".
export interface StatusPillProps {
  ok: boolean;
  label: string;
  /** Shown under the pill when present (e.g. why the database is unreachable). */
  detail?: string;
}

export function StatusPill({ ok, label, detail }: StatusPillProps) {
  return (
    <div>
      <span className={`status ${ok ? "status-ok" : "status-bad"}`} role="status" data-ok={ok}>
        <span className="status-dot" aria-hidden="true" />
        {label}
      </span>
      {detail ? <p className="status-detail muted">{detail}</p> : null}
    </div>
  );
}
