"use client";
import { useState, useSyncExternalStore } from "react";
import { formatAbsolute, formatClock, formatDuration } from "@/components/format";
import { useNow } from "@/components/use-now";

/**
 * When data arrived in this browser, on the browser's clock. Not
 * dataUpdatedAt: for data a server component prefetched, that is the web
 * server's clock, which may run apart from the browser's.
 */
export function useArrivedAt(data: unknown): number {
  const [seen, setSeen] = useState(() => ({ data, at: Date.now() }));
  if (seen.data !== data) {
    const next = { data, at: Date.now() };
    setSeen(next);
    return next.at;
  }
  return seen.at;
}

/**
 * A deferred message's deadline on the browser's clock: the database said
 * `remainingMs` when it was read, and the data arrived at `arrivedAt`. Time
 * left and "visible at" both come from it, so they agree with each other
 * whatever the skew between the browser's, the web server's and the
 * database's clocks.
 */
export function deadlineOf(remainingMs: number, arrivedAt: number): number {
  return arrivedAt + remainingMs;
}

/** Time left until `deadline`, counting down. */
export function Countdown({ deadline }: { deadline: number }) {
  const now = useNow(250);
  const left = deadline - now;
  return (
    // The server renders with its own "now": the first client render differs by design.
    <span className="countdown" data-remaining-ms={Math.max(0, Math.round(left))} suppressHydrationWarning>
      {left > 0 ? formatDuration(left) : "due now"}
    </span>
  );
}

const noSubscription = () => () => {};

/**
 * The wall-clock time of `deadline`, with its date on hover. Rendered once
 * hydrated: the server's deadline comes from the server's clock, and a
 * hydrated attribute that differs is not patched, so the time shown would
 * disagree with the countdown beside it when the browser's clock is off.
 */
export function VisibleAt({ deadline }: { deadline: number }) {
  const hydrated = useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
  if (!hydrated) return <time />;
  return (
    <time dateTime={new Date(deadline).toISOString()} title={formatAbsolute(deadline)} suppressHydrationWarning>
      {formatClock(deadline)}
    </time>
  );
}
