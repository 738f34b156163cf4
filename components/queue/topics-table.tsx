"use client";
// Every topic with its counts, one row per consumer group (the topic's cells
// span its groups): the group's last hour of traffic, lag, in flight and the
// oldest pending message.
import Link from "next/link";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { Age } from "./age";
import { CountText } from "./count-cell";
import { formatNumber } from "./format";
import { deferredHref, dlqHref, topicHref } from "./hrefs";
import { TrafficSparkline } from "./traffic-sparkline";
import type { SparklinesView, TopicRow } from "./types";

export function TopicsTable({ topics, sparklines }: { topics: TopicRow[]; sparklines: SparklinesView | undefined }) {
  const lines = new Map(sparklines?.topics.map((l) => [l.topic, l]));
  // Empty until the traffic arrives (it is fetched apart from the counts).
  const sparkline = (t: TopicRow, group: string | null) => (
    <td data-col="last-hour">
      {sparklines ? (
        <TrafficSparkline from={sparklines.from} line={lines.get(t.topic)} group={group} isDlq={t.isDlq} />
      ) : null}
    </td>
  );
  if (topics.length === 0) {
    return (
      <div className="empty">
        <p>No topics yet: nothing has been published.</p>
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table" data-testid="topics-table">
        <TableHead
          columns={[
            "Topic",
            num("Messages"),
            num("Deferred"),
            num("DLQ"),
            "Consumer group",
            "Last hour",
            num("Lag"),
            num("In flight"),
            "Oldest pending",
            num("Leased"),
          ]}
        />
        <tbody>
          {topics.map((t) => {
            const span = Math.max(1, t.groups.length);
            const [first, ...rest] = t.groups;
            const topicCells = (
              <>
                <td rowSpan={span} className="topic-cell">
                  <Link
                    href={t.isDlq ? dlqHref({ topic: t.topic }) : topicHref(t.topic)}
                    className="mono"
                    data-col="topic"
                  >
                    {t.topic}
                  </Link>
                  <div className="sub">
                    <span data-col="partitions">{formatNumber(t.partitions)}</span>{" "}
                    {t.partitions === 1 ? "partition" : "partitions"}
                    {t.lastPublishedAt === null ? null : (
                      <>
                        {" · last publish "}
                        <RelativeTime ms={t.lastPublishedAt} />
                      </>
                    )}
                  </div>
                </td>
                <td rowSpan={span} className="num topic-cell" data-col="messages">
                  <CountText count={t.messages} />
                </td>
                <td rowSpan={span} className="num topic-cell" data-col="deferred">
                  {t.deferred.value > 0 ? (
                    <Link href={deferredHref(t.topic)}>
                      <CountText count={t.deferred} />
                    </Link>
                  ) : (
                    <CountText count={t.deferred} />
                  )}
                </td>
                <td rowSpan={span} className="num topic-cell" data-col="dlq">
                  {t.dlq ? (
                    <Link href={dlqHref({ topic: `${t.topic}_dlq` })}>
                      <CountText count={t.dlq} />
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </>
            );
            if (!first) {
              return (
                <tr key={t.topic} data-topic={t.topic}>
                  {topicCells}
                  <td className="muted">no consumer group</td>
                  {sparkline(t, null)}
                  <td colSpan={4} />
                </tr>
              );
            }
            return [first, ...rest].map((g, i) => (
              <tr
                key={`${t.topic}\u0000${g.group}`}
                data-topic={i === 0 ? t.topic : undefined}
                data-group-of={t.topic}
                data-group={g.group}
                className={i > 0 ? "group-row" : undefined}
              >
                {i === 0 ? topicCells : null}
                <td>
                  <Link href={topicHref(t.topic, { group: g.group })} className="mono">
                    {g.group}
                  </Link>
                </td>
                {sparkline(t, g.group)}
                <td className="num" data-col="lag">
                  {formatNumber(g.lag)}
                </td>
                <td className="num" data-col="in-flight">
                  {formatNumber(g.inFlight)}
                </td>
                <td data-col="oldest">
                  <Age ms={g.oldestPendingAt} />
                </td>
                <td className="num">{formatNumber(g.leasedPartitions)}</td>
              </tr>
            ));
          })}
        </tbody>
      </table>
    </div>
  );
}
