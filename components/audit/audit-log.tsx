"use client";
// The audit log: newest first, filtered by user and action, live every 5 s.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { LoadMore } from "@/components/load-more";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";
import { type AuditView, auditHref } from "./audit-filters";
import { AuditTarget } from "./audit-target";

const LIVE_MS = 5_000;

export function AuditLog({ view }: { view: AuditView }) {
  const trpc = useTRPC();
  const router = useRouter();
  const choices = useQuery(trpc.audit.actors.queryOptions());
  const action = choices.data?.actions.find((a) => a === view.action);
  const log = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(
      { actor: view.actor, action, limit: 50 },
      { getNextPageParam: (p) => p.nextCursor, refetchInterval: LIVE_MS, refetchIntervalInBackground: false },
    ),
  );
  const items = log.data?.pages.flatMap((p) => p.items) ?? [];
  const go = (next: AuditView) => router.push(auditHref(next));

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Audit log</h1>
          <p className="muted small">Every change made from the console or the CLI, newest first.</p>
        </div>
      </header>
      <div className="filters">
        <FilterSelect
          label="User"
          anyLabel="Everyone"
          value={view.actor}
          options={choices.data?.actors ?? []}
          onChange={(actor) => go({ ...view, actor })}
        />
        <FilterSelect
          label="Action"
          anyLabel="Any"
          value={view.action}
          options={choices.data?.actions ?? []}
          onChange={(a) => go({ ...view, action: a })}
        />
      </div>
      <QueryState
        query={log}
        none={items.length === 0}
        loading="Loading the audit log…"
        failure="Could not load the audit log"
        empty={view.actor || view.action ? "Nothing matches these filters." : "Nobody has changed anything yet."}
      >
        {() => (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="audit-table">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>User</th>
                    <th>Action</th>
                    <th>Target</th>
                    <th className="num">Rows</th>
                    <th>From</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((r) => (
                    <tr key={r.id}>
                      <td>
                        <RelativeTime ms={r.at} />
                      </td>
                      <td>{r.actor}</td>
                      <td>
                        <code>{r.action}</code>
                      </td>
                      <td className="mono audit-target">
                        <AuditTarget action={r.action} target={r.target} count={r.count} />
                      </td>
                      <td className="num">{r.count}</td>
                      <td className="mono">{r.address}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="table-footer">
              <span className="muted small">{items.length} shown</span>
              <LoadMore pages={log} />
            </div>
          </>
        )}
      </QueryState>
    </div>
  );
}

function FilterSelect(props: {
  label: string;
  anyLabel: string;
  value: string | undefined;
  options: string[];
  onChange: (value: string | undefined) => void;
}) {
  return (
    <label className="filter">
      {props.label}
      <select
        aria-label={props.label}
        value={props.value ?? ""}
        onChange={(e) => props.onChange(e.target.value || undefined)}
      >
        <option value="">{props.anyLabel}</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}
