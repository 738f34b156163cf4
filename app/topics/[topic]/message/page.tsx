import type { Metadata } from "next";
import Link from "next/link";
import { param, type SearchParams, topicFromSegment, topicHref } from "@/components/queue/hrefs";
import { MessageDetail } from "@/components/queue/message-detail";
import { getQueryClient, HydrateClient, trpc } from "@/server/trpc/rsc";
import "@/components/queue/queue.css";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ topic: string }>; searchParams: Promise<SearchParams> };

export async function generateMetadata({ params, searchParams }: Props): Promise<Metadata> {
  const topic = topicFromSegment((await params).topic);
  const sp = await searchParams;
  return { title: `${topic}/${param(sp, "pk") ?? "?"}#${param(sp, "seq") ?? "?"} · Sluice` };
}

/** One message: /topics/<topic>/message?pk=<partition key>&seq=<seq>. */
export default async function MessagePage({ params, searchParams }: Props) {
  const topic = topicFromSegment((await params).topic);
  const sp = await searchParams;
  const partitionKey = param(sp, "pk");
  const seq = Number(param(sp, "seq"));
  const valid = partitionKey !== undefined && Number.isSafeInteger(seq) && seq > 0;
  if (valid) await getQueryClient().prefetchQuery(trpc.queue.message.queryOptions({ topic, partitionKey, seq }));
  return (
    <HydrateClient>
      <div className="page">
        <div className="breadcrumbs">
          <Link href="/">Overview</Link> / <Link href="/topics">Topics</Link> /{" "}
          <Link href={topicHref(topic)} className="mono">
            {topic}
          </Link>
        </div>
        {valid ? (
          <MessageDetail topic={topic} partitionKey={partitionKey} seq={seq} />
        ) : (
          <p className="note note-bad" role="alert">
            This address names no message: it needs ?pk=&lt;partition key&gt;&amp;seq=&lt;positive number&gt;.
          </p>
        )}
      </div>
    </HydrateClient>
  );
}
