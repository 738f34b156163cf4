"use client";
// A topic's partitions by key, keyset-paged ("Load more"), with the chosen
// group's watermark, lag and lease holder.
import { useInfiniteQuery } from "@tanstack/react-query";
import { LoadMore } from "@/components/load-more";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { formatNumber } from "./format";
import { live } from "./live";

/** Partitions per page: a short list, so the messages below stay in reach. */
export const PARTITIONS_PAGE = 20;

export function PartitionsTable({
  topic,
  group,
  onPick,
  selected,
}: {
  topic: string;
  group: string | null;
  onPick: (partitionKey: string) => void;
  selected?: string;
}) {
  const trpc = useTRPC();
  const q = useInfiniteQuery(
    trpc.queue.partitions.infiniteQueryOptions(
      { topic, limit: PARTITIONS_PAGE },
      { ...live, getNextPageParam: (page) => page.next },
    ),
  );
  const rows = q.data?.pages.flatMap((p) => p.partitions) ?? [];

  return (
    <section aria-label="Partitions" style={{ marginBottom: "1.2rem" }}>
      <h2>Partitions{group ? <span className="muted"> · group {group}</span> : null}</h2>
      <QueryState
        query={q}
        none={rows.length === 0}
        loading="Loading partitions…"
        failure="Could not load the partitions"
      >
        {() => (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="partitions-table">
                <TableHead
                  columns={[
                    "Partition key",
                    num("Head seq"),
                    "Last publish",
                    num("Watermark"),
                    num("Lag"),
                    "Lease holder",
                    "Lease expires",
                  ]}
                />
                <tbody>
                  {rows.map((p) => {
                    const g = p.groups.find((x) => x.group === group);
                    return (
                      <tr
                        key={p.partitionKey}
                        data-partition={p.partitionKey}
                        className={p.partitionKey === selected ? "active-row" : undefined}
                      >
                        <td>
                          <button
                            type="button"
                            className="btn btn-link btn-inline mono"
                            title="Show only this partition's messages"
                            onClick={() => onPick(p.partitionKey)}
                          >
                            {p.partitionKey}
                          </button>
                        </td>
                        <td className="num">{formatNumber(p.headSeq)}</td>
                        <td>
                          <RelativeTime ms={p.lastPublishedAt} />
                        </td>
                        <td className="num">{g ? formatNumber(g.watermark) : "—"}</td>
                        <td className="num" data-col="lag">
                          {g ? formatNumber(g.lag) : "—"}
                        </td>
                        <td className="mono">
                          {g?.leaseHolder ??
                            (g?.leaseOwner ? g.leaseOwner.slice(0, 8) : <span className="muted">—</span>)}
                        </td>
                        <td>
                          {g?.leaseExpiresAt ? (
                            <RelativeTime ms={g.leaseExpiresAt} />
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <div className="table-footer">
              <span className="muted small">{formatNumber(rows.length)} partitions shown</span>
              <LoadMore pages={q} moreLabel="Load more partitions" endLabel="All partitions shown" />
            </div>
          </>
        )}
      </QueryState>
    </section>
  );
}
