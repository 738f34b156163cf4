"use client";
// An overview row's last hour: the topic's published messages per minute
// and, on a group's row, what that group acked; on a DLQ topic, its inflow.
import { TimeChart } from "@/components/charts/time-chart";
import { formatNumber } from "./format";
import type { TopicSparklineView } from "./types";

const MINUTES = 60;
const flat = Array<number>(MINUTES).fill(0);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function TrafficSparkline({
  from,
  line,
  group,
  isDlq,
}: {
  from: number;
  /** The topic's last hour; undefined when nothing happened in it. */
  line: TopicSparklineView | undefined;
  group: string | null;
  isDlq: boolean;
}) {
  const published = line?.published ?? flat;
  const acked = line?.groups.find((g) => g.group === group)?.acked ?? flat;
  const series = [
    { label: isDlq ? "dead-lettered" : "published", values: published, color: isDlq ? "--bad" : "--accent" },
    ...(group === null ? [] : [{ label: "acked", values: acked, color: "--ok" }]),
  ];
  const totals = series.map((s) => `${formatNumber(sum(s.values as number[]))} ${s.label}`).join(" · ");
  return (
    <TimeChart
      compact
      testId="sparkline"
      from={from}
      stepMs={60_000}
      height={26}
      series={series}
      idle={`${totals} /h`}
      label={`Last hour of ${line?.topic ?? "this topic"}${group === null ? "" : ` for ${group}`}`}
      summary={`In the last hour: ${totals}.`}
    />
  );
}
