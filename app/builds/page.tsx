import type { Metadata } from "next";
import { BuildsList } from "@/components/builds/builds-list";
import { BUILDS_PAGE_SIZE, parseBuildFilter } from "@/components/builds/filter-params";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";

// Rendered per request: `next build` needs no database, and the list is live.
export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Builds · Sluice" };

export default async function BuildsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { filter, ignored } = parseBuildFilter(await searchParams);
  const qc = getQueryClient();
  // The first page arrives with the HTML; the browser then keeps it fresh.
  await Promise.all([
    qc.prefetchInfiniteQuery(
      trpc.builds.list.infiniteQueryOptions(
        { ...filter, limit: BUILDS_PAGE_SIZE },
        { getNextPageParam: (page) => page.nextCursor },
      ),
    ),
    qc.prefetchQuery(trpc.builds.queues.queryOptions()),
  ]);
  return (
    <HydrateClient>
      <BuildsList filter={filter} ignored={ignored} />
    </HydrateClient>
  );
}
