import type { Metadata } from "next";
import Link from "next/link";
import { param, type SearchParams, topicFromSegment } from "@/components/queue/hrefs";
import { TopicView } from "@/components/queue/topic-view";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ topic: string }>; searchParams: Promise<SearchParams> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `${topicFromSegment((await params).topic)} · Topics · Sluice` };
}

export default async function TopicPage({ params, searchParams }: Props) {
  const topic = topicFromSegment((await params).topic);
  const sp = await searchParams;
  await getQueryClient().prefetchQuery(trpc.queue.topic.queryOptions({ topic }));
  return (
    <HydrateClient>
      <div className="page">
        <div className="breadcrumbs">
          <Link href="/">Overview</Link> / <Link href="/topics">Topics</Link>
        </div>
        <header className="page-header">
          <div className="title-row">
            <h1>
              <span className="mono">{topic}</span>
            </h1>
          </div>
        </header>
        <TopicView
          topic={topic}
          view={{ group: param(sp, "group"), state: param(sp, "state"), partition: param(sp, "partition") }}
        />
      </div>
    </HydrateClient>
  );
}
