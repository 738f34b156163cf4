"use client";
import { useQuery } from "@tanstack/react-query";
// Failures grouped by their normalised reason, biggest first, counting only
// what the active search and original group match: a click filters the DLQ
// to one group (again: back to all), and each group has its own Requeue and
// Purge, which ask first with that group's count and newest rows.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";
import type { BulkKind } from "./bulk-dialog";
import type { DlqFilterView } from "./dlq-params";
import { formatNumber } from "./format";
import { slowLive } from "./live";

export function FailureGroups({
  filter,
  selected,
  onPick,
  onAct,
}: {
  filter: DlqFilterView;
  selected?: string;
  onPick: (group: string | undefined) => void;
  onAct: (kind: BulkKind, group: string) => void;
}) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const { failureGroup: _picked, ...matching } = filter;
  const q = useQuery(trpc.dlq.failureGroups.queryOptions(matching, slowLive));
  const searching = Boolean(matching.search || matching.originalGroup);
  return (
    <section className="panel" aria-label="Failure groups" style={{ padding: "0.6rem 0.5rem" }}>
      <h2 style={{ padding: "0 0.3rem" }}>Failure groups</h2>
      {searching ? (
        <p className="muted small" style={{ padding: "0 0.3rem", marginTop: 0 }}>
          Counting what the search matches.
        </p>
      ) : null}
      <QueryState query={q} loading="Loading…" small>
        {(groups) =>
          groups.length === 0 ? (
            <p className="muted small" style={{ padding: "0 0.3rem" }}>
              {searching ? "No failures match." : "No failures."}
            </p>
          ) : (
            <ul className="group-list" data-testid="failure-groups">
              {groups.map((g) => {
                const on = g.failureGroup === selected;
                return (
                  <li key={g.failureGroup} data-group={g.failureGroup} data-count={g.count}>
                    <button
                      type="button"
                      className="group-item"
                      aria-pressed={on}
                      title={`Latest: ${g.sampleReason}`}
                      onClick={() => onPick(on ? undefined : g.failureGroup)}
                    >
                      <span className="group-count">{formatNumber(g.count)}</span>
                      <span className="group-name">{g.failureGroup}</span>
                      <span className="muted small">
                        last <RelativeTime ms={g.lastFailedAt} />
                      </span>
                    </button>
                    <div className="group-actions">
                      <button
                        type="button"
                        className="btn btn-sm"
                        disabled={!canAct}
                        title={canAct ? undefined : OPERATORS_ONLY}
                        aria-label={`Requeue the ${formatNumber(g.count)} failing with ${g.failureGroup}`}
                        onClick={() => onAct("requeue", g.failureGroup)}
                      >
                        Requeue…
                      </button>
                      <button
                        type="button"
                        className="btn btn-sm btn-danger"
                        disabled={!canAct}
                        title={canAct ? undefined : OPERATORS_ONLY}
                        aria-label={`Purge the ${formatNumber(g.count)} failing with ${g.failureGroup}`}
                        onClick={() => onAct("purge", g.failureGroup)}
                      >
                        Purge…
                      </button>
                    </div>
                  </li>
                );
              })}
            </ul>
          )
        }
      </QueryState>
    </section>
  );
}
