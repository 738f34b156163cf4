// sluice topics / sluice lag: the overview the console's queue page shows.
import { type PartitionRow, QueueError, type TopicOverview } from "@/server/queue";
import { type Command, int, str } from "./args";
import type { Ctx } from "./context";
import { count, line, printJson, table, when } from "./output";

const topics: Command = {
  name: "topics",
  summary: "Topics with their message, deferred and DLQ counts and each group's lag",
  usage: "[--json]",
  async run(ctx, args) {
    const rows = await ctx.queue().inspect.listTopics();
    if (args.json) return printJson(rows);
    line(
      table(
        ["TOPIC", "PARTITIONS", "MESSAGES", "DEFERRED", "DLQ", "GROUPS (lag)", "LAST PUBLISHED"],
        rows.map((t) => [
          t.topic,
          t.partitions,
          count(t.messages),
          count(t.deferred),
          t.dlq ? count(t.dlq) : null,
          t.groups.map((g) => `${g.group}:${g.lag}`).join(" ") || null,
          when(t.lastPublishedAt),
        ]),
      ),
    );
  },
};

/** Every partition of a topic, page by page, up to `max`. */
export async function allPartitions(ctx: Ctx, topic: string, max: number): Promise<PartitionRow[]> {
  const out: PartitionRow[] = [];
  let after: string | undefined;
  while (out.length < max) {
    const page = await ctx.queue().inspect.listPartitions(topic, { after, limit: Math.min(500, max - out.length) });
    out.push(...page.partitions);
    if (page.next === null) break;
    after = page.next;
  }
  return out;
}

const lag: Command = {
  name: "lag",
  summary: "Consumer groups' lag per topic (per partition with --partitions)",
  usage: "[<topic>] [--partitions] [--limit n]",
  details: [
    "  --partitions  one row per partition and group: watermark, head, lag, lease",
    "  --limit n     partitions read per topic with --partitions (default 1000)",
  ],
  optional: ["topic"],
  options: { partitions: { type: "boolean" }, limit: { type: "string" } },
  async run(ctx, args) {
    const limit = int(str(args, "limit"), "--limit", 1, 100_000) ?? 1000;
    const topic = args.pos.topic;
    const all = await ctx.queue().inspect.listTopics();
    const chosen: TopicOverview[] = topic === undefined ? all : all.filter((t) => t.topic === topic);
    if (topic !== undefined && chosen.length === 0) throw new QueueError("NOT_FOUND", `no topic ${topic}`);
    if (!args.values.partitions) {
      const rows = chosen.flatMap((t) => t.groups.map((g) => ({ topic: t.topic, ...g })));
      if (args.json) return printJson(rows);
      line(
        table(
          ["TOPIC", "GROUP", "LAG", "IN FLIGHT", "LEASED", "OLDEST PENDING"],
          rows.map((r) => [r.topic, r.group, r.lag, r.inFlight, r.leasedPartitions, when(r.oldestPendingAt)]),
        ),
      );
      return;
    }
    const rows = [];
    for (const t of chosen) {
      for (const p of await allPartitions(ctx, t.topic, limit)) {
        for (const g of p.groups) {
          rows.push({
            topic: t.topic,
            partitionKey: p.partitionKey,
            group: g.group,
            headSeq: p.headSeq,
            watermark: g.watermark,
            lag: g.lag,
            leaseHolder: g.leaseHolder,
          });
        }
      }
    }
    if (args.json) return printJson(rows);
    line(
      table(
        ["TOPIC", "PARTITION", "GROUP", "HEAD", "WATERMARK", "LAG", "LEASE HOLDER"],
        rows.map((r) => [r.topic, r.partitionKey, r.group, r.headSeq, r.watermark, r.lag, r.leaseHolder]),
      ),
    );
  },
};

export const topicCommands = [topics, lag];
