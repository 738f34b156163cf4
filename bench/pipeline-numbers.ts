// Summaries of measured values and how the report prints numbers.
import { percentile } from "./lib";

export function summarize(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–");
export const fix = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const pct = (n: number) => `${n >= 0 ? "+" : ""}${(n * 100).toFixed(1)}%`;
