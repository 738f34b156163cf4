"use client";
// A topic's traffic over time (issue 13): published, acked, nacked and
// dead-lettered per minute, the group's lag and oldest-pending age, over
// the last hour or day, from the queue's per-minute rollup.
import { rangeWords } from "@/components/charts/range-switch";
import { DURATION_STEPS, TimeChart } from "@/components/charts/time-chart";
import { formatDuration } from "@/components/format";
import { TrafficFrame } from "./traffic-frame";
import { countsSentence, gaugeSentence } from "./traffic-summary";

const STEP = 60_000;
const HEIGHT = 170;

export function TrafficPanel({ topic, group }: { topic: string; group: string | null }) {
  const whose = group ? `group ${group}` : "every group";
  return (
    <TrafficFrame
      id="traffic-title"
      title="Traffic"
      topic={topic}
      group={group ?? undefined}
      note={`per minute, ${whose}`}
      testId="traffic-panel"
    >
      {(t, range) => (
        <div className="traffic-charts">
          <div>
            <h3>Messages per minute</h3>
            <TimeChart
              testId="chart-throughput"
              from={t.from}
              stepMs={STEP}
              height={HEIGHT}
              label={`Messages per minute in ${topic}, ${rangeWords(range)}`}
              summary={`In ${rangeWords(range)}: ${countsSentence(t.from, [
                { label: "published", values: t.published },
                { label: "acked", values: t.acked },
                { label: "nacked", values: t.nacked },
                { label: "dead-lettered", values: t.deadLettered },
              ])}`}
              series={[
                { label: "published", values: t.published, color: "--accent" },
                { label: "acked", values: t.acked, color: "--ok" },
                { label: "nacked", values: t.nacked, color: "--warn" },
                { label: "dead-lettered", values: t.deadLettered, color: "--bad" },
              ]}
            />
          </div>
          <div>
            <h3>Lag</h3>
            <TimeChart
              testId="chart-lag"
              from={t.from}
              stepMs={STEP}
              height={HEIGHT}
              label={`Lag of ${whose} in ${topic}, ${rangeWords(range)}`}
              summary={gaugeSentence(t.from, t.lag, "lag")}
              series={[{ label: "lag", values: t.lag, color: "--violet-fg" }]}
            />
          </div>
          <div>
            <h3>Oldest pending</h3>
            <TimeChart
              testId="chart-oldest"
              from={t.from}
              stepMs={STEP}
              height={HEIGHT}
              label={`Age of the oldest pending message of ${whose} in ${topic}, ${rangeWords(range)}`}
              summary={gaugeSentence(t.from, t.oldestPendingMs, "age")}
              format={formatDuration}
              steps={DURATION_STEPS}
              series={[{ label: "oldest pending", values: t.oldestPendingMs, color: "--info-fg" }]}
            />
          </div>
        </div>
      )}
    </TrafficFrame>
  );
}
