"use client";
// Subscribers (one per worker process and topic): their last heartbeat,
// whether they are alive, and the partitions whose lease they hold.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { formatNumber, plural } from "./format";
import { topicHref } from "./hrefs";
import { LIVE_MS, live } from "./live";

export function WorkersList() {
  const trpc = useTRPC();
  const q = useQuery(trpc.workers.list.queryOptions(undefined, live));
  if (q.data === undefined)
    return <QueryState query={q} loading="Loading workers…" failure="Could not load the workers" />;
  const subs = q.data.subscribers;
  const alive = subs.filter((s) => s.alive);
  const processes = new Set(alive.map((s) => `${s.host}:${s.pid}`)).size;
  return (
    <>
      <div className="cards">
        <div className="card">
          <div className="card-label">Processes alive</div>
          <div className="card-value" data-testid="processes-alive">
            {formatNumber(processes)}
          </div>
        </div>
        <div className="card">
          <div className="card-label">Subscribers alive</div>
          <div className="card-value">
            {formatNumber(alive.length)} <span className="muted small">of {formatNumber(subs.length)}</span>
          </div>
        </div>
      </div>
      {subs.length === 0 ? (
        <div className="empty">
          <p>No subscriber has registered: start a worker (npm run worker).</p>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="workers-table">
            <TableHead
              columns={[
                "Name",
                "Group",
                "Topic",
                "Host · pid",
                "Started",
                "Last heartbeat",
                "Status",
                num("Leases"),
                "Partitions held",
              ]}
            />
            <tbody>
              {subs.map((s) => (
                <tr key={s.instanceId} data-subscriber={s.name} title={`instance ${s.instanceId}`}>
                  <td className="mono">{s.name}</td>
                  <td className="mono">{s.group}</td>
                  <td className="mono">
                    <Link href={topicHref(s.topic, { group: s.group })}>{s.topic}</Link>
                  </td>
                  <td className="mono">
                    {s.host} · {s.pid}
                  </td>
                  <td>
                    <RelativeTime ms={s.startedAt} />
                  </td>
                  <td>
                    <RelativeTime ms={s.heartbeatAt} />
                  </td>
                  <td>
                    <span className={s.alive ? "alive" : "dead"} data-alive={s.alive}>
                      {s.alive ? "alive" : "silent"}
                    </span>
                  </td>
                  <td className="num">{formatNumber(s.leaseCount)}</td>
                  <td className="wrap mono small">
                    {s.leases.length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      <>
                        {s.leases.join(", ")}
                        {s.leaseCount > s.leases.length
                          ? ` … and ${plural(s.leaseCount - s.leases.length, "more", "more")}`
                          : ""}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted small">
        Alive: a heartbeat within the last 30 s. Live, every {LIVE_MS / 1000} s. Silent subscribers are forgotten after
        a day.
      </p>
    </>
  );
}
