"use client";
import { formatDuration } from "../format";
import { useNow } from "../use-now";

/**
 * Time left until a deferred message becomes visible: the database said
 * `remainingMs` when the page was fetched (at `fetchedAt`, browser clock), and
 * this counts down from there, so clock skew between the browser and the
 * database does not matter.
 */
export function Countdown({ remainingMs, fetchedAt }: { remainingMs: number; fetchedAt: number }) {
  const now = useNow(250);
  const left = remainingMs - (now - fetchedAt);
  return (
    // The server renders with its own "now": the first client render differs by design.
    <span className="countdown" data-remaining-ms={Math.max(0, Math.round(left))} suppressHydrationWarning>
      {left > 0 ? formatDuration(left) : "due now"}
    </span>
  );
}
