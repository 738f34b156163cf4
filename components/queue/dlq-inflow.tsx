"use client";
// How fast a DLQ topic fills: the messages dead-lettered into it per minute
// (what was published into the DLQ topic, from the queue's per-minute rollup).
import { rangeWords } from "@/components/charts/range-switch";
import { TimeChart } from "@/components/charts/time-chart";
import { TrafficFrame } from "./traffic-frame";
import { countsSentence } from "./traffic-summary";

export function DlqInflow({ topic }: { topic: string }) {
  return (
    <TrafficFrame id="dlq-inflow-title" title="Inflow" topic={topic} note="dead letters per minute" testId="dlq-inflow">
      {(t, range) => (
        <TimeChart
          testId="chart-dlq-inflow"
          from={t.from}
          stepMs={60_000}
          height={130}
          label={`Messages dead-lettered into ${topic} per minute, ${rangeWords(range)}`}
          summary={`In ${rangeWords(range)}: ${countsSentence(t.from, [{ label: "dead-lettered", values: t.published }])}`}
          series={[{ label: "dead-lettered", values: t.published, color: "--bad" }]}
        />
      )}
    </TrafficFrame>
  );
}
