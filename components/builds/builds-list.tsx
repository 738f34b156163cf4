"use client";
// The build list: newest first, refreshed every 2 s while the tab is visible,
// with "Load more" pages by keyset cursor.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { LiveNote } from "@/components/live-refresh";
import { LoadMore } from "@/components/load-more";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import type { BuildFilter } from "@/server/pipeline/build-request-schema";
import { BuildFilters } from "./build-filters";
import { BuildsTable } from "./builds-table";
import { BUILDS_LIVE_MS, BUILDS_PAGE_SIZE } from "./filter-params";
import { WaitingBatches } from "./waiting-batches";

export function BuildsList({ filter, ignored }: { filter: BuildFilter; ignored: string[] }) {
  const trpc = useTRPC();
  const queues = useQuery(trpc.builds.queues.queryOptions());
  const list = useInfiniteQuery(
    trpc.builds.list.infiniteQueryOptions(
      { ...filter, limit: BUILDS_PAGE_SIZE },
      {
        getNextPageParam: (page) => page.nextCursor,
        refetchInterval: BUILDS_LIVE_MS,
        // No polling from a hidden tab: it refreshes when it is shown again.
        refetchIntervalInBackground: false,
      },
    ),
  );
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const filtered = Boolean(filter.status || filter.queue);

  return (
    <div className="page">
      <header className="page-header">
        <div>
          <h1>Builds</h1>
          <p className="muted small">
            Newest first · <LiveNote everyMs={BUILDS_LIVE_MS} />
            {list.isRefetching ? " · refreshing" : ""}
          </p>
        </div>
        <Link href="/builds/new" className="btn btn-primary">
          Trigger build
        </Link>
      </header>

      <BuildFilters filter={filter} queues={queues.data?.queues.map((q) => q.name) ?? []} />
      {ignored.length > 0 ? (
        <p className="note note-warn">Ignored an invalid {ignored.join(" and ")} filter in the address.</p>
      ) : null}

      <WaitingBatches />
      <QueryState
        query={list}
        none={items.length === 0}
        loading="Loading builds…"
        failure="Could not load the builds"
        empty={
          filtered ? (
            "No builds match these filters."
          ) : (
            <>
              No builds yet. <Link href="/builds/new">Trigger one</Link>.
            </>
          )
        }
      >
        {() => (
          <>
            <BuildsTable items={items} />
            <div className="table-footer">
              <span className="muted small" data-testid="builds-count">
                {items.length} {items.length === 1 ? "build" : "builds"} shown
              </span>
              <LoadMore pages={list} />
            </div>
          </>
        )}
      </QueryState>
    </div>
  );
}
