import type { Metadata } from "next";
import { Overview } from "@/components/queue/overview";
import { QueuePage } from "@/components/queue/queue-page";
import { getQueryClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

// Rendered per request: `next build` needs no database, and the numbers are live.
export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Overview · Sluice" };

export default async function OverviewPage() {
  // The first numbers arrive with the HTML; the browser then keeps them fresh.
  await getQueryClient().prefetchQuery(trpc.queue.overview.queryOptions());
  return (
    <QueuePage title="Overview" description="Every topic, its consumer groups' lag, live workers and builds.">
      <Overview />
    </QueuePage>
  );
}
