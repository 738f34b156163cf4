"use client";
import { formatDuration } from "@/components/format";
import { useNow } from "@/components/use-now";

/** How long ago `ms` was (e.g. the oldest pending message), ticking: "4 min 05 s". */
export function Age({ ms }: { ms: number | null }) {
  const now = useNow(1_000);
  if (ms === null) return <span className="muted">—</span>;
  return (
    <span title={new Date(ms).toISOString()} suppressHydrationWarning>
      {formatDuration(Math.max(0, now - ms))}
    </span>
  );
}
