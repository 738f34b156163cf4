"use client";
// The overview: live workers, builds by status, and every topic's counts.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { BuildStatusBadge } from "@/components/build-status-badge";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import { BUILD_STATUSES } from "@/server/buildrunner/types";
import { formatNumber } from "./format";
import { LIVE_MS, live } from "./live";
import { TopicsTable } from "./topics-table";

export function Overview({ topicsOnly = false }: { topicsOnly?: boolean }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.queue.overview.queryOptions(undefined, live));
  // Apart from the overview, so a slow or failing traffic read never holds up the counts.
  const lines = useQuery(trpc.queue.sparklines.queryOptions(undefined, live));

  if (q.data === undefined)
    return <QueryState query={q} loading="Loading the queue…" failure="Could not load the overview" />;
  const o = q.data;
  const counts = new Map(o.builds.map((b) => [b.status, b.count]));
  const totalBuilds = o.builds.reduce((n, b) => n + b.count, 0);
  const topics = o.topics.filter((t) => !t.isDlq);
  const dlqTopics = o.topics.filter((t) => t.isDlq);

  return (
    <>
      {topicsOnly ? null : (
        <div className="cards">
          <div className="card" data-testid="workers-alive">
            <div className="card-label">Workers alive</div>
            <div className="card-value">{formatNumber(o.workers.aliveProcesses)}</div>
            <div className="muted small">
              <Link href="/workers">
                {formatNumber(o.workers.aliveSubscribers)} of {formatNumber(o.workers.totalSubscribers)} subscribers
              </Link>
            </div>
          </div>
          <div className="card">
            <div className="card-label">Topics</div>
            <div className="card-value">{formatNumber(topics.length)}</div>
            <div className="muted small">{formatNumber(dlqTopics.length)} with dead letters</div>
          </div>
          <div className="card" style={{ gridColumn: "span 2" }} data-testid="builds-by-status">
            <div className="card-label">Builds</div>
            <div className="card-value">{formatNumber(totalBuilds)}</div>
            <div className="card-detail">
              {BUILD_STATUSES.map((s) => (
                <Link key={s} href={`/builds?status=${s}`} title={`Builds ${s}`} data-status={s}>
                  <BuildStatusBadge status={s} /> {formatNumber(counts.get(s) ?? 0)}
                </Link>
              ))}
            </div>
          </div>
        </div>
      )}
      <h2>Topics</h2>
      <TopicsTable topics={topics} sparklines={lines.data} />
      {dlqTopics.length > 0 ? (
        <>
          <h2 style={{ marginTop: "1.2rem" }}>Dead-letter topics</h2>
          <TopicsTable topics={dlqTopics} sparklines={lines.data} />
        </>
      ) : null}
      <p className="muted small">
        Live, every {LIVE_MS / 1000} s. Counts above 10,000 show as "10,000+": exact numbers would scan the log. Lag is
        per consumer group: published but not yet finished. Last hour: messages per minute (hover for a minute's count).
      </p>
    </>
  );
}
