"use client";
// One message: where it sits, its payload, its metadata, and each consumer
// group's view of it (state, attempts, last error, each attempt's history).
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { MetadataTable } from "@/components/builds/metadata-table";
import { formatAbsolute } from "@/components/format";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { AttemptHistory } from "./attempt-history";
import { dlqHref } from "./hrefs";
import { live } from "./live";
import { PayloadBlock } from "./payload-block";
import { StateBadge } from "./state-badge";

export function MessageDetail({ topic, partitionKey, seq }: { topic: string; partitionKey: string; seq: number }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.queue.message.queryOptions({ topic, partitionKey, seq }, live));
  if (q.data === undefined) return <QueryState query={q} loading="Loading the message…" />;
  const m = q.data;
  return (
    <>
      <header className="page-header">
        <div>
          <h1>
            Message <span className="mono">{m.id}</span>
          </h1>
          <p className="muted small mono">
            {topic} / {partitionKey} #{seq}
          </p>
        </div>
      </header>
      <section className="panel" aria-label="Message">
        <dl className="facts">
          <div>
            <dt>Message id</dt>
            <dd className="mono">{m.id}</dd>
          </div>
          <div>
            <dt>Partition key</dt>
            <dd className="mono">{m.partitionKey}</dd>
          </div>
          <div>
            <dt>Seq · log id</dt>
            <dd>
              {m.seq} · {m.logId}
            </dd>
          </div>
          <div>
            <dt>Published</dt>
            <dd title={formatAbsolute(m.publishedAt)}>
              <RelativeTime ms={m.publishedAt} />
            </dd>
          </div>
          <div>
            <dt>Visible</dt>
            <dd>{m.visibleAfter > m.publishedAt ? <RelativeTime ms={m.visibleAfter} /> : "at once"}</dd>
          </div>
          <div>
            <dt>For group</dt>
            <dd>{m.targetGroup ? <span className="mono">{m.targetGroup}</span> : "every group"}</dd>
          </div>
        </dl>
        {m.failure ? (
          <>
            <h3>Failure</h3>
            <p className="text-bad" data-testid="failure-reason" style={{ whiteSpace: "pre-wrap" }}>
              {m.failure.reason}
            </p>
            <p className="muted small">
              {m.failure.count} failed deliveries in group <span className="mono">{m.failure.originalGroup}</span> of{" "}
              <span className="mono">{m.failure.originalTopic}</span>
              {m.failure.originalSeq !== null ? ` (seq ${m.failure.originalSeq})` : ""} ·{" "}
              <RelativeTime ms={m.failure.failedAt} /> ·{" "}
              <Link href={dlqHref({ topic, pk: m.partitionKey, seq: m.seq })}>open in the DLQ</Link>
            </p>
          </>
        ) : null}
        <h3>Consumer groups</h3>
        {m.groups.length === 0 ? (
          <p className="muted small">No consumer group reads this topic.</p>
        ) : (
          <table className="table" data-testid="message-groups">
            <TableHead columns={["Group", "State", num("Attempts"), "First delivered", "Last error"]} />
            <tbody>
              {m.groups.map((g) => (
                <tr key={g.group} data-group={g.group}>
                  <td className="mono">{g.group}</td>
                  <td>
                    <StateBadge state={g.state} />
                  </td>
                  <td className="num">{g.attempts}</td>
                  <td>
                    {g.firstDeliveredAt ? <RelativeTime ms={g.firstDeliveredAt} /> : <span className="muted">—</span>}
                  </td>
                  <td className="wrap">{g.lastError ?? <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h3>Attempt history</h3>
        <AttemptHistory topic={topic} partitionKey={partitionKey} seq={seq} />
        <h3>Metadata</h3>
        <MetadataTable metadata={m.metadata} testId="metadata" />
      </section>
      <section className="panel">
        <PayloadBlock payload={m.payload} name={`${m.id}`} />
      </section>
    </>
  );
}
