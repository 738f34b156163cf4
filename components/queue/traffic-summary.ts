// The sentences that stand for a traffic chart (its text alternative): the
// totals over the range, and the busiest or highest minute.

import { minuteOf } from "@/components/charts/time-chart";
import { formatDuration } from "@/components/format";
import { formatNumber, plural } from "./format";

/** The minute with the highest value, with its index; null when every value is zero or unknown. */
export function peakOf(values: Array<number | null>): { at: number; value: number } | null {
  let best: { at: number; value: number } | null = null;
  values.forEach((v, at) => {
    if (v !== null && v > 0 && (best === null || v > best.value)) best = { at, value: v };
  });
  return best;
}

/** "12 published, 10 acked, 1 nacked, 1 dead-lettered; busiest minute 14:05 (8 published)." */
export function countsSentence(
  from: number,
  counts: Array<{ label: string; values: number[] }>,
  stepMs = 60_000,
): string {
  const totals = counts.map((c) => `${formatNumber(c.values.reduce((a, b) => a + b, 0))} ${c.label}`).join(", ");
  const busiest = counts
    .map((c) => ({ c, peak: peakOf(c.values) }))
    .filter((x) => x.peak !== null)
    .sort((a, b) => (b.peak?.value ?? 0) - (a.peak?.value ?? 0))[0];
  if (!busiest?.peak) return `${totals}; nothing in any minute.`;
  return `${totals}; busiest minute ${minuteOf(from + busiest.peak.at * stepMs)} (${formatNumber(busiest.peak.value)} ${busiest.c.label}).`;
}

/** "latest 5 messages, highest 40 at 13:20", or why there is nothing to show. */
export function gaugeSentence(
  from: number,
  values: Array<number | null>,
  kind: "lag" | "age",
  stepMs = 60_000,
): string {
  const known = values.map((v, i) => ({ v, i })).filter((x): x is { v: number; i: number } => x.v !== null);
  const last = known.at(-1);
  if (!last)
    return "Not sampled in this range yet: garbage collection samples it about every 30 s while a worker runs.";
  const show = (v: number) => (kind === "lag" ? plural(v, "message") : formatDuration(v));
  const peak = peakOf(values);
  const high = peak ? `, highest ${show(peak.value)} at ${minuteOf(from + peak.at * stepMs)}` : "";
  return `Latest ${show(last.v)} at ${minuteOf(from + last.i * stepMs)}${high}.`;
}
