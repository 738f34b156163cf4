"use client";
// Failures grouped by their normalised reason, biggest first: a click filters
// the DLQ to one group (again: back to all), so a whole group can be requeued
// or purged at once.
import { useQuery } from "@tanstack/react-query";
import { RelativeTime } from "../relative-time";
import { useTRPC } from "../trpc-provider";
import { formatNumber } from "./format";
import { slowLive } from "./live";

export function FailureGroups({
  topic,
  selected,
  onPick,
}: {
  topic: string;
  selected?: string;
  onPick: (group: string | undefined) => void;
}) {
  const trpc = useTRPC();
  const q = useQuery(trpc.dlq.failureGroups.queryOptions({ topic }, slowLive));
  return (
    <section className="panel" aria-label="Failure groups" style={{ padding: "0.6rem 0.5rem" }}>
      <h2 style={{ padding: "0 0.3rem" }}>Failure groups</h2>
      {q.isPending ? (
        <p className="muted small">Loading…</p>
      ) : q.isError && !q.data ? (
        <p className="note note-bad small" role="alert">
          {q.error.message}
        </p>
      ) : q.data.length === 0 ? (
        <p className="muted small" style={{ padding: "0 0.3rem" }}>
          No failures.
        </p>
      ) : (
        <ul className="group-list" data-testid="failure-groups">
          {q.data.map((g) => {
            const on = g.failureGroup === selected;
            return (
              <li key={g.failureGroup}>
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
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
