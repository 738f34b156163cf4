"use client";
// What every traffic panel shares: its title, the range switch, the live
// query of the topic's (or group's) traffic, and the loading and error notes.
import { useQuery } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { type Range, RangeSwitch, rangeWords } from "@/components/charts/range-switch";
import { LiveNote } from "@/components/live-refresh";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import { LIVE_MS, live, SLOW_LIVE_MS, slowLive } from "./live";
import type { TrafficView } from "./types";

export function TrafficFrame({
  id,
  title,
  topic,
  group,
  note,
  testId,
  children,
}: {
  id: string;
  title: string;
  topic: string;
  group?: string;
  /** After the range: what the numbers are, e.g. "per minute". */
  note: string;
  testId: string;
  children: (t: TrafficView, range: Range) => ReactNode;
}) {
  const trpc = useTRPC();
  const [range, setRange] = useState<Range>("1h");
  // A day's minutes change slowly: asked for less often than the hour's.
  const q = useQuery(trpc.queue.traffic.queryOptions({ topic, group, range }, range === "1h" ? live : slowLive));
  return (
    <section className="panel" aria-labelledby={id} data-testid={testId}>
      <div className="panel-title-row">
        <h2 id={id}>{title}</h2>
        <RangeSwitch value={range} onChange={setRange} />
        <span className="muted small">
          {note}, {rangeWords(range)} · <LiveNote everyMs={range === "1h" ? LIVE_MS : SLOW_LIVE_MS} />
        </span>
      </div>
      <QueryState query={q} loading="Loading the traffic…" failure="Could not load the traffic">
        {(t) => children(t, range)}
      </QueryState>
    </section>
  );
}
