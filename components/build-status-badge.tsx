import type { BuildStatus } from "@/server/buildrunner/types";

/** A build's status as a coloured badge; `live` makes screen readers announce changes. */
export function BuildStatusBadge({ status, live = false }: { status: BuildStatus; live?: boolean }) {
  return (
    <span
      className={`badge badge-${status}`}
      data-testid="build-status"
      data-status={status}
      aria-live={live ? "polite" : undefined}
    >
      {status}
    </span>
  );
}
