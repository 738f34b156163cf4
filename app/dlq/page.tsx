import type { Metadata } from "next";
import { DlqPage } from "@/components/queue/dlq-page";
import { parseDlqView } from "@/components/queue/dlq-params";
import type { SearchParams } from "@/components/queue/hrefs";
import { QueuePage } from "@/components/queue/queue-page";
import { getQueryClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "DLQ · Sluice" };

export default async function DeadLettersPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const { view, ignored } = parseDlqView(await searchParams);
  await getQueryClient().prefetchQuery(trpc.dlq.topics.queryOptions());
  return (
    <QueuePage
      title="Dead letters"
      description="Messages a consumer gave up on, with why. Requeue sends one back to its topic for the group it failed in."
    >
      <DlqPage view={view} ignored={ignored} />
    </QueuePage>
  );
}
