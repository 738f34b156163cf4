// How times and durations read in the console: short, and the same on the
// server and in the browser (no locale-dependent output except formatAbsolute).

/** 850 ms · 3.2 s · 4 min 05 s · 2 h 03 min · 3 d 4 h */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)} s`;
  const total = Math.floor(s);
  const [d, h, m, sec] = [
    Math.floor(total / 86400),
    Math.floor(total / 3600) % 24,
    Math.floor(total / 60) % 60,
    total % 60,
  ];
  const pad = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${pad(m)} min`;
  return `${m} min ${pad(sec)} s`;
}

/** just now · 12 s ago · 3 min ago · 2 h ago · 4 d ago (or "in …" for a time ahead). */
export function formatRelative(ms: number, now: number): string {
  const diff = now - ms;
  const abs = Math.abs(diff);
  if (abs < 5_000) return "just now";
  const units: Array<[number, string]> = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1_000, "s"],
  ];
  const [size, unit] = units.find(([u]) => abs >= u) ?? [1_000, "s"];
  const n = Math.floor(abs / size);
  return diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/** 2026-11-28 04:05:06 in the viewer's time zone, with the UTC instant for comparison with logs. */
export function formatAbsolute(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const local = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return `${local} (${d.toISOString()})`;
}

/** 14:05:06, the viewer's wall clock: a moment within the day, next to a countdown or a "since". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
