import type { Metadata } from "next";
import { DeferredList } from "@/components/queue/deferred-list";
import { param, type SearchParams } from "@/components/queue/hrefs";
import { PAGE_SIZE } from "@/components/queue/live";
import { QueuePage } from "@/components/queue/queue-page";
import { getQueryClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Deferred · Sluice" };

const TOPIC = /^[A-Za-z0-9._:/-]{1,191}$/;

export default async function DeferredPage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  const raw = param(await searchParams, "topic");
  const topic = raw && TOPIC.test(raw) ? raw : undefined;
  await getQueryClient().prefetchInfiniteQuery(
    trpc.deferred.list.infiniteQueryOptions({ topic, limit: PAGE_SIZE }, { getNextPageParam: (page) => page.next }),
  );
  return (
    <QueuePage
      title="Deferred"
      description={`Messages published with a delay that no subscriber sees yet. "Deliver now" makes them visible at once.`}
    >
      {raw && !topic ? <p className="note note-warn">Ignored an invalid topic in the address.</p> : null}
      <DeferredList topic={topic} />
    </QueuePage>
  );
}
