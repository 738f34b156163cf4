// What the queue console's procedures return, as the components see it (types only: nothing of the server is bundled).
import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "@/server/trpc/router";

type Outputs = inferRouterOutputs<AppRouter>;

export type Overview = Outputs["queue"]["overview"];
export type TopicRow = Overview["topics"][number];
export type TopicDetail = Outputs["queue"]["topic"];
export type PartitionPage = Outputs["queue"]["partitions"];
export type MessagePage = Outputs["queue"]["messages"];
export type MessageDetailView = Outputs["queue"]["message"];
export type DeferredPage = Outputs["deferred"]["list"];
export type DlqPage = Outputs["dlq"]["list"];
export type DlqRowView = DlqPage["rows"][number];
export type DlqDetailView = Outputs["dlq"]["detail"];
export type JobView = Outputs["dlq"]["job"];
export type Subscriber = Outputs["workers"]["list"]["subscribers"][number];
export type TrafficView = Outputs["queue"]["traffic"];
export type SparklinesView = Outputs["queue"]["sparklines"];
export type TopicSparklineView = SparklinesView["topics"][number];
