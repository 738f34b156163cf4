import type { Metadata } from "next";
import { Overview } from "@/components/queue/overview";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Topics · Sluice" };

/** The topics alone (the overview without the summary cards): pick one to see its partitions and messages. */
export default async function TopicsPage() {
  await getQueryClient().prefetchQuery(trpc.queue.overview.queryOptions());
  return (
    <HydrateClient>
      <div className="page">
        <header className="page-header">
          <div>
            <h1>Topics</h1>
            <p className="muted small">Pick a topic to see its partitions and messages.</p>
          </div>
        </header>
        <Overview topicsOnly />
      </div>
    </HydrateClient>
  );
}
