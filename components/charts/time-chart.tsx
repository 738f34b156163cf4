"use client";
// A per-minute time series drawn with uPlot: a canvas, so a day of minutes
// and a refresh every few seconds cost little. The chart is made once (and
// again when its series, size class or colour scheme change); new data from
// a live refresh goes in with setData. Hovering shows the minute's exact
// values in a readout beside the canvas (the latest minute otherwise), and
// the figure carries a text summary: the canvas itself is hidden from
// screen readers.
import { useEffect, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { resolveColor, useSchemeKey } from "./scheme";
import "./charts.css";

export interface ChartSeries {
  label: string;
  /** One value per step, oldest first; null: nothing known for that step (a gap in the line). */
  values: Array<number | null>;
  /** The CSS variable the line is drawn in, e.g. "--ok". */
  color: string;
}

export interface TimeChartProps {
  /** The first value's time, ms; each next one is `stepMs` later. */
  from: number;
  stepMs: number;
  series: ChartSeries[];
  height: number;
  /** A sparkline: no axes, a thinner line, and `idle` where the readout is until the pointer is on it. */
  compact?: boolean;
  idle?: string;
  /** The figure's accessible name, and the sentence that says what it shows. */
  label: string;
  summary: string;
  /** How a value reads on the axis and in the readout. Default: a whole number. */
  format?: (v: number) => string;
  /** The steps the value axis may tick at, smallest first. Default: whole numbers (1, 2, 5, 10, …). */
  steps?: number[];
  testId?: string;
}

/** Ticks of a count: never between two whole numbers. */
export const COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
/** Ticks of a duration in ms: whole seconds, minutes, hours. */
export const DURATION_STEPS = [
  1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5,
];

const integer = new Intl.NumberFormat("en-US");
const whole = (v: number) => integer.format(Math.round(v));
const pad = (n: number) => String(n).padStart(2, "0");
/** 14:05, the viewer's wall clock. */
export const minuteOf = (ms: number) => {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

export function TimeChart({
  from,
  stepMs,
  series,
  height,
  compact = false,
  idle,
  label,
  summary,
  format = whole,
  steps = COUNT_STEPS,
  testId,
}: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hovered, setHovered] = useState<number | null>(null);
  const scheme = useSchemeKey();
  const length = series[0]?.values.length ?? 0;
  const data: uPlot.AlignedData = [
    Array.from({ length }, (_, i) => (from + i * stepMs) / 1000),
    ...series.map((s) => s.values),
  ];
  // The latest data for a chart made after it arrived (a scheme change remakes the chart).
  const latest = useRef(data);
  latest.current = data;
  const formatRef = useRef(format);
  formatRef.current = format;
  const shape = JSON.stringify([series.map((s) => [s.label, s.color]), compact, height, steps]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: remade only when its shape or the scheme changes; data goes in below
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const muted = resolveColor(el, "--muted");
    const grid = resolveColor(el, "--border");
    const axis = {
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      font: "11px system-ui, sans-serif",
    };
    const u = new uPlot(
      {
        width: Math.max(el.clientWidth, 50),
        height,
        legend: { show: false },
        padding: compact ? [2, 2, 2, 2] : [8, 8, 0, 0],
        cursor: { y: false, drag: { x: false, y: false }, points: { size: compact ? 5 : 7 } },
        // From zero, and never shorter than one step: an empty chart reads 0, not 0.5.
        // Each minute owns a band of the plot's width, the newest and oldest too: without the half
        // step on either side, the newest minute sits on the plot's right edge, where the pointer
        // can hardly reach it (a sparkline's minutes are two pixels apart).
        scales: {
          x: { time: true, range: (_u, min, max) => [min - stepMs / 2000, max + stepMs / 2000] },
          y: { range: (_u, _min, max) => [0, Math.max(steps[0] ?? 1, max ?? 0)] },
        },
        axes: compact
          ? [{ show: false }, { show: false }]
          : [
              { ...axis, values: (_u, ticks) => ticks.map((t) => minuteOf(t * 1000)) },
              { ...axis, size: 56, incrs: steps, values: (_u, ticks) => ticks.map((t) => formatRef.current(t)) },
            ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: resolveColor(el, s.color),
            width: compact ? 1.25 : 1.5,
            points: { show: false },
          })),
        ],
        hooks: { setCursor: [(p: uPlot) => setHovered(p.cursor.idx ?? null)] },
      },
      latest.current,
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 50), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape, scheme]);

  // A refresh that changed nothing keeps its arrays (TanStack's structural sharing): only new ones are drawn.
  const drawn = useRef<unknown[]>([]);
  useEffect(() => {
    const next = [from, ...series.map((s) => s.values)];
    if (next.length === drawn.current.length && next.every((v, i) => v === drawn.current[i])) return;
    drawn.current = next;
    plot.current?.setData(latest.current);
  });

  const at = hovered ?? (compact ? null : length - 1);
  const readout =
    at === null || at < 0 ? null : (
      <>
        <span className="chart-time">{minuteOf(from + at * stepMs)}</span>
        {series.map((s) => {
          const v = s.values[at];
          return (
            <span key={s.label} className="chart-value" data-series={s.label}>
              <span className="chart-swatch" style={{ background: `var(${s.color})` }} aria-hidden="true" />
              {s.label} <strong>{v === null || v === undefined ? "—" : format(v)}</strong>
            </span>
          );
        })}
      </>
    );

  return (
    <figure className={compact ? "chart chart-compact" : "chart"} data-testid={testId} aria-label={label}>
      <div ref={box} className="chart-canvas" style={{ height }} aria-hidden="true" />
      <div className="chart-readout" data-testid="chart-readout">
        {readout ?? idle}
      </div>
      <figcaption className={compact ? "visually-hidden" : "chart-summary muted small"}>{summary}</figcaption>
    </figure>
  );
}
