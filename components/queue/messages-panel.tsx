"use client";
// A topic's messages newest first, by state for one consumer group, keyset
// paged ("Load more"). Ready and done come from a bounded scan on the
// server: a page can be short, or empty, while older messages remain.
import { useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { LoadMore } from "@/components/load-more";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { formatNumber } from "./format";
import { messageHref } from "./hrefs";
import { live, PAGE_SIZE } from "./live";
import { StateBadge } from "./state-badge";

export const STATE_TABS = [
  { state: "all", label: "All" },
  { state: "ready", label: "Ready" },
  { state: "in_flight", label: "In flight" },
  { state: "retrying", label: "Retrying" },
  { state: "deferred", label: "Deferred" },
  { state: "done", label: "Done" },
  { state: "dead", label: "Dead" },
] as const;
export type StateTab = (typeof STATE_TABS)[number]["state"];

/** Tabs read by a bounded scan of the newest messages (server/queue/ops/messages.ts): the footer says how far it looked. */
const SCANNED: StateTab[] = ["ready", "done", "dead"];

/** Tabs that mean something without a consumer group. */
const GROUPLESS: StateTab[] = ["all", "deferred"];

export function MessagesPanel({
  topic,
  group,
  state: asked,
  partitionKey,
  onState,
}: {
  topic: string;
  group: string | null;
  state: StateTab;
  partitionKey?: string;
  onState: (s: StateTab) => void;
}) {
  const trpc = useTRPC();
  const state = group === null && !GROUPLESS.includes(asked) ? "all" : asked;
  const q = useInfiniteQuery(
    trpc.queue.messages.infiniteQueryOptions(
      { topic, group, state, partitionKey, limit: PAGE_SIZE },
      { ...live, getNextPageParam: (page) => page.next },
    ),
  );
  const rows = q.data?.pages.flatMap((p) => p.messages) ?? [];
  const scanned = q.data?.pages.reduce((n, p) => n + p.scanned, 0) ?? 0;

  return (
    <section aria-label="Messages">
      <h2>Messages{group ? <span className="muted"> · state for group {group}</span> : null}</h2>
      <div className="tabs" role="tablist" aria-label="Message state">
        {STATE_TABS.map((t) => (
          <button
            key={t.state}
            type="button"
            role="tab"
            className="tab"
            aria-selected={t.state === state}
            disabled={group === null && !GROUPLESS.includes(t.state)}
            onClick={() => onState(t.state)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <QueryState query={q} none={rows.length === 0} loading="Loading messages…" failure="Could not load the messages">
        {() => (
          <>
            {rows.length === 0 ? (
              <div className="empty">
                <p>
                  {q.hasNextPage
                    ? `None among the newest ${formatNumber(scanned)} messages; load more to look further back.`
                    : "No messages in this state."}
                </p>
              </div>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="messages-table">
                  <TableHead
                    columns={["Partition", num("Seq"), "Message id", "State", num("Attempts"), "Published", "Visible"]}
                  />
                  <tbody>
                    {rows.map((m) => (
                      <tr key={m.logId} data-message-id={m.id}>
                        <td className="mono">{m.partitionKey}</td>
                        <td className="num">
                          <Link href={messageHref(topic, m.partitionKey, m.seq)}>{m.seq}</Link>
                        </td>
                        <td className="mono">
                          <Link href={messageHref(topic, m.partitionKey, m.seq)}>{m.id}</Link>
                        </td>
                        <td>
                          <StateBadge state={m.state} />
                        </td>
                        <td className="num">{m.attempts}</td>
                        <td>
                          <RelativeTime ms={m.publishedAt} />
                        </td>
                        <td>
                          {m.visibleAfter > m.publishedAt ? (
                            <RelativeTime ms={m.visibleAfter} />
                          ) : (
                            <span className="muted">at once</span>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <div className="table-footer">
              <span className="muted small">
                {formatNumber(rows.length)} shown
                {SCANNED.includes(state) ? ` · ${formatNumber(scanned)} newest messages looked at` : ""}
              </span>
              <LoadMore pages={q} endLabel="End of the topic" />
            </div>
          </>
        )}
      </QueryState>
    </section>
  );
}
