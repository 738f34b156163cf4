import type { Metadata } from "next";
import { Overview } from "@/components/queue/overview";
import { QueuePage } from "@/components/queue/queue-page";
import { getQueryClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Topics · Sluice" };

/** The topics alone (the overview without the summary cards): pick one to see its partitions and messages. */
export default async function TopicsPage() {
  await getQueryClient().prefetchQuery(trpc.queue.overview.queryOptions());
  return (
    <QueuePage title="Topics" description="Pick a topic to see its partitions and messages.">
      <Overview topicsOnly />
    </QueuePage>
  );
}
