import type { Metadata } from "next";
import { WorkersList } from "@/components/queue/workers-list";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workers · Sluice" };

export default async function WorkersPage() {
  await getQueryClient().prefetchQuery(trpc.workers.list.queryOptions());
  return (
    <HydrateClient>
      <div className="page">
        <header className="page-header">
          <div>
            <h1>Workers</h1>
            <p className="muted small">Queue subscribers, their heartbeats and the partitions they hold.</p>
          </div>
        </header>
        <WorkersList />
      </div>
    </HydrateClient>
  );
}
