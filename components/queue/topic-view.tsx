"use client";
// A topic: its counts and consumer groups, its partitions, and its messages
// by state for one group. The group, state tab and partition live in the URL.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { Age } from "./age";
import { CountText } from "./count-cell";
import { formatNumber } from "./format";
import { deferredHref, dlqHref, topicHref, type TopicView as View } from "./hrefs";
import { live } from "./live";
import { MessagesPanel, STATE_TABS } from "./messages-panel";
import { PartitionsTable } from "./partitions-table";
import { PauseControl } from "./pause-control";
import { TrafficPanel } from "./traffic-panel";

export function TopicView({ topic, view }: { topic: string; view: View }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const q = useQuery(trpc.queue.topic.queryOptions({ topic }, live));

  if (q.data === undefined)
    return <QueryState query={q} loading={`Loading ${topic}…`} failure={`Could not load topic ${topic}`} />;
  const t = q.data;
  const groups = t.groups.map((g) => g.group);
  // No group in the URL: the first one, so the state tabs mean something.
  const group = view.group && groups.includes(view.group) ? view.group : (groups[0] ?? null);
  // A hand-edited or outdated address is answered in words, not with the server's validation error.
  const unknownGroup = view.group && !groups.includes(view.group) ? view.group : undefined;
  const state = STATE_TABS.find((s) => s.state === view.state)?.state;
  const unknownState = view.state && !state ? view.state : undefined;
  // Moving on drops what the address got wrong, so the notes below go with it.
  const go = (next: View) => {
    const clean = {
      ...next,
      group: next.group === unknownGroup ? undefined : next.group,
      state: next.state === unknownState ? undefined : next.state,
    };
    startTransition(() => router.push(topicHref(topic, clean), { scroll: false }));
  };

  return (
    <>
      {unknownGroup ? (
        <p className="note note-warn" data-testid="unknown-group">
          No consumer group named “{unknownGroup}” reads {topic}
          {group ? `; showing group ${group} instead.` : "; no group reads it yet."}
        </p>
      ) : null}
      {unknownState ? (
        <p className="note note-warn" data-testid="unknown-state">
          “{unknownState}” is not a message state; showing all messages. The states are{" "}
          {STATE_TABS.filter((s) => s.state !== "all")
            .map((s) => s.label.toLowerCase())
            .join(", ")}
          .
        </p>
      ) : null}
      <section className="panel" aria-label="Summary">
        <dl className="facts">
          <div>
            <dt>Partitions</dt>
            <dd data-testid="topic-partitions">{formatNumber(t.partitions)}</dd>
          </div>
          <div>
            <dt>Messages</dt>
            <dd data-testid="topic-messages">
              <CountText count={t.messages} />
            </dd>
          </div>
          <div>
            <dt>Deferred</dt>
            <dd>
              <Link href={deferredHref(topic)}>
                <CountText count={t.deferred} />
              </Link>
            </dd>
          </div>
          <div>
            <dt>DLQ</dt>
            <dd>
              {t.dlq ? (
                <Link href={dlqHref({ topic: `${topic}_dlq` })}>
                  <CountText count={t.dlq} />
                </Link>
              ) : (
                <span className="muted">none</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Last publish</dt>
            <dd>{t.lastPublishedAt === null ? "—" : <RelativeTime ms={t.lastPublishedAt} />}</dd>
          </div>
        </dl>
        {t.groups.length > 0 ? (
          <>
            <h3>Consumer groups</h3>
            <div className="table-wrap">
              <table className="table" data-testid="topic-groups">
                <TableHead
                  columns={[
                    "Group",
                    num("Lag"),
                    num("In flight"),
                    "Oldest pending",
                    num("Leased partitions"),
                    "Consumption",
                  ]}
                />
                <tbody>
                  {t.groups.map((g) => (
                    <tr key={g.group} data-group={g.group} className={g.group === group ? "active-row" : undefined}>
                      <td>
                        <button
                          type="button"
                          className="btn btn-link btn-inline mono"
                          onClick={() => go({ ...view, group: g.group })}
                        >
                          {g.group}
                        </button>
                      </td>
                      <td className="num">{formatNumber(g.lag)}</td>
                      <td className="num">{formatNumber(g.inFlight)}</td>
                      <td>
                        <Age ms={g.oldestPendingAt} />
                      </td>
                      <td className="num">{formatNumber(g.leasedPartitions)}</td>
                      <td>
                        <PauseControl topic={topic} group={g.group} pausedAt={g.pausedAt} pausedBy={g.pausedBy} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ) : (
          <p className="muted small">No consumer group reads this topic yet: states are shown once one subscribes.</p>
        )}
      </section>

      <TrafficPanel topic={topic} group={group} />

      <div className="filters">
        <label className="filter">
          <span>Consumer group</span>
          <select
            value={group ?? ""}
            disabled={groups.length === 0}
            onChange={(e) => go({ ...view, group: e.currentTarget.value || undefined })}
          >
            {groups.length === 0 ? <option value="">none</option> : null}
            {groups.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        {view.partition ? (
          <span className="filter">
            <span>Partition</span>
            <span>
              <code>{view.partition}</code>{" "}
              <button
                type="button"
                className="btn btn-link btn-sm"
                onClick={() => go({ ...view, partition: undefined })}
              >
                all partitions
              </button>
            </span>
          </span>
        ) : null}
        {pending ? <span className="muted small">Loading…</span> : null}
      </div>

      <PartitionsTable
        topic={topic}
        group={group}
        onPick={(partition) => go({ ...view, partition })}
        selected={view.partition}
      />
      <MessagesPanel
        topic={topic}
        group={group}
        state={state ?? "all"}
        partitionKey={view.partition}
        onState={(state) => go({ ...view, state: state === "all" ? undefined : state })}
      />
    </>
  );
}
