import type { BuildStatus } from "@/server/buildrunner/types";

/**
 * A build's status as a coloured badge; `live` makes screen readers announce
 * changes. `waitingFor` (the runner's WAITING_FOR metadata) marks a build that
 * waits on a person: it is still accepted or running, polled less often.
 */
export function BuildStatusBadge({
  status,
  live = false,
  waitingFor,
}: {
  status: BuildStatus;
  live?: boolean;
  waitingFor?: string | null;
}) {
  const waiting = Boolean(waitingFor) && (status === "accepted" || status === "running");
  return (
    <span
      className={`badge badge-${waiting ? "waiting" : status}`}
      data-testid="build-status"
      data-status={status}
      data-waiting={waiting ? "true" : undefined}
      title={waiting ? `${status}, waiting for ${waitingFor}` : undefined}
      aria-live={live ? "polite" : undefined}
    >
      {waiting ? `${status} · waiting` : status}
    </span>
  );
}
