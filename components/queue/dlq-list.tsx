"use client";
// The dead letters that match, newest first and a page at a time, or why
// there are none; the footer counts them against all that match.
import { LiveNote } from "@/components/live-refresh";
import { LoadMore, type MorePages } from "@/components/load-more";
import { type QueryLike, QueryState } from "@/components/query-state";
import { DlqTable } from "./dlq-table";
import { formatNumber, plural } from "./format";
import { type DlqView, dlqHref } from "./hrefs";
import { LIVE_MS } from "./live";
import type { Address } from "./selection";
import type { DlqRowView } from "./types";

export function DlqList({
  list,
  rows,
  topic,
  view,
  filtered,
  matching,
  selection,
  onRequeue,
  requeueing,
}: {
  /** The paged query the rows come from. */
  list: QueryLike<unknown> & MorePages;
  rows: DlqRowView[];
  topic: string;
  view: DlqView;
  filtered: boolean;
  /** How many dead letters the filter matches; undefined until counted. */
  matching: number | undefined;
  selection: {
    has: (a: Address) => boolean;
    toggle: (a: Address, on: boolean) => void;
    setAll: (rows: Address[], on: boolean) => void;
  };
  onRequeue: (row: DlqRowView) => void;
  /** Keys (addressKey) of the rows whose Requeue is under way. */
  requeueing: Set<string>;
}) {
  return (
    <QueryState
      query={list}
      none={rows.length === 0}
      loading="Loading dead letters…"
      failure="Could not load the dead letters"
      empty={filtered ? "No dead letters match this filter." : `No dead letters in ${topic}.`}
    >
      {() => (
        <>
          <DlqTable
            rows={rows}
            isPicked={selection.has}
            onPick={selection.toggle}
            onPickAll={(on) => selection.setAll(rows, on)}
            openHref={(r) => dlqHref({ ...view, pk: r.partitionKey, seq: r.seq })}
            onRequeue={onRequeue}
            requeueing={requeueing}
            open={view.pk && view.seq ? { topic, partitionKey: view.pk, seq: view.seq } : undefined}
          />
          <div className="table-footer">
            <span className="muted small" data-testid="dlq-shown">
              {formatNumber(rows.length)} shown
              {matching !== undefined ? ` of ${plural(matching, "match", "matches")}` : ""} · newest first ·{" "}
              <LiveNote everyMs={LIVE_MS} />
            </span>
            <LoadMore pages={list} />
          </div>
        </>
      )}
    </QueryState>
  );
}
