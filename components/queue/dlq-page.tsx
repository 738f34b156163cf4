"use client";
// The dead-letter queue: pick a DLQ topic, search (id, partition key, error
// text), filter by failure group or original group, and act: requeue one,
// the picked ones, or everything that matches (a paced job with progress);
// requeue-all and purge, of the whole filter or of one failure group, first
// show the exact count and the newest rows they would move. The view lives
// in the URL, so it can be linked (a job too: ?job=). This part picks the
// topic; DlqTopicView shows it.
import { useQuery } from "@tanstack/react-query";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import { dlqFilterOf } from "./dlq-params";
import { DlqTopicView } from "./dlq-topic-view";
import type { DlqView } from "./hrefs";
import { slowLive } from "./live";

export function DlqPage({ view, ignored }: { view: DlqView; ignored: string[] }) {
  const trpc = useTRPC();
  const topics = useQuery(trpc.dlq.topics.queryOptions(undefined, slowLive));
  const topic = view.topic ?? topics.data?.[0];
  if (!topic) {
    // No topic in the address and none listed (yet): there is nothing to show but the ladder.
    return (
      <QueryState
        query={topics}
        none
        loading="Loading…"
        failure="Could not list the DLQ topics"
        empty="No dead letters anywhere: no consumer has given up on a message."
      />
    );
  }
  const filter = dlqFilterOf(topic, view);
  // A new filter starts with nothing picked.
  return (
    <DlqTopicView
      key={JSON.stringify(filter)}
      topic={topic}
      topics={topics.data ?? [topic]}
      view={{ ...view, topic }}
      ignored={ignored}
    />
  );
}
