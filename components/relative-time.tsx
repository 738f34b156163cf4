"use client";
import { formatAbsolute, formatRelative } from "./format";
import { useNow } from "./use-now";

/** "3 min ago", with the absolute time on hover. */
export function RelativeTime({ ms }: { ms: number }) {
  const now = useNow();
  // The server renders with its clock and time zone, the browser with its own: the text may differ by design.
  return (
    <time dateTime={new Date(ms).toISOString()} title={formatAbsolute(ms)} suppressHydrationWarning>
      {formatRelative(ms, now)}
    </time>
  );
}
