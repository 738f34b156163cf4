import type { Metadata } from "next";
import { QueuePage } from "@/components/queue/queue-page";
import { WorkersList } from "@/components/queue/workers-list";
import { getQueryClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Workers · Sluice" };

export default async function WorkersPage() {
  await getQueryClient().prefetchQuery(trpc.workers.list.queryOptions());
  return (
    <QueuePage title="Workers" description="Queue subscribers, their heartbeats and the partitions they hold.">
      <WorkersList />
    </QueuePage>
  );
}
