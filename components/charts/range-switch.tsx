"use client";
// The last hour or the last 24 hours: two buttons, the pressed one is shown.
export const RANGES = [
  { value: "1h", label: "1 h", words: "the last hour" },
  { value: "24h", label: "24 h", words: "the last 24 hours" },
] as const;
export type Range = (typeof RANGES)[number]["value"];

export const rangeWords = (range: Range) => RANGES.find((r) => r.value === range)?.words ?? range;

export function RangeSwitch({ value, onChange }: { value: Range; onChange: (next: Range) => void }) {
  return (
    <fieldset className="range-switch" aria-label="Time range">
      {RANGES.map((r) => (
        <button key={r.value} type="button" aria-pressed={value === r.value} onClick={() => onChange(r.value)}>
          {r.label}
        </button>
      ))}
    </fieldset>
  );
}
