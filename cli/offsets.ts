// sluice leases / release-lease / reset-offset / stale-leases: who holds
// which partition, and moving a group's position by hand.
import { QueueError, STALE_LEASE_THRESHOLD_MS, type StaleLease } from "@/server/queue";
import { type Command, int, req, str, UsageError } from "./args";
import { confirm, line, printJson, table, when } from "./output";
import { allPartitions } from "./topics";

const leases: Command = {
  name: "leases",
  summary: "Subscribers and the partition leases they hold",
  usage: "[<topic>] [--limit n]",
  details: ["  --limit n  partitions read per topic (default 1000)"],
  optional: ["topic"],
  options: { limit: { type: "string" } },
  async run(ctx, args) {
    const limit = int(str(args, "limit"), "--limit", 1, 100_000) ?? 1000;
    const topic = args.pos.topic;
    const subs = (await ctx.queue().inspect.listSubscribers()).filter((s) => topic === undefined || s.topic === topic);
    const known = (await ctx.queue().inspect.listTopics()).map((t) => t.topic);
    if (topic !== undefined && !known.includes(topic)) throw new QueueError("NOT_FOUND", `no topic ${topic}`);
    const topics = topic === undefined ? known : [topic];
    const held = [];
    for (const t of topics) {
      for (const p of await allPartitions(ctx, t, limit)) {
        for (const g of p.groups) {
          if (g.leaseOwner === null) continue;
          held.push({
            topic: t,
            partitionKey: p.partitionKey,
            group: g.group,
            owner: g.leaseOwner,
            holder: g.leaseHolder,
            expiresAt: g.leaseExpiresAt,
            watermark: g.watermark,
            lag: g.lag,
          });
        }
      }
    }
    if (args.json) return printJson({ subscribers: subs, leases: held });
    line("Subscribers");
    line(
      table(
        ["NAME", "GROUP", "TOPIC", "HOST", "PID", "ALIVE", "LEASES", "HEARTBEAT"],
        subs.map((s) => [
          s.name,
          s.group,
          s.topic,
          s.host,
          s.pid,
          s.alive ? "yes" : "no",
          s.leaseCount,
          when(s.heartbeatAt),
        ]),
      ),
    );
    line();
    line("Leases");
    line(
      table(
        ["TOPIC", "PARTITION", "GROUP", "HOLDER", "EXPIRES", "WATERMARK", "LAG"],
        held.map((h) => [h.topic, h.partitionKey, h.group, h.holder ?? h.owner, when(h.expiresAt), h.watermark, h.lag]),
      ),
    );
  },
};

const releaseLease: Command = {
  name: "release-lease",
  summary: "Take a partition's lease away from the subscriber holding it",
  usage: "<group> <topic> <partitionKey> [--yes]",
  required: ["group", "topic", "partitionKey"],
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const [group, topic, pk] = [req(args, "group"), req(args, "topic"), req(args, "partitionKey")];
    await confirm(`Release the lease of group ${group} on ${topic} partition ${pk}?`, args.yes, "release-lease");
    const r = await ctx.queue().admin.releaseLease(group, topic, pk, {
      within: ctx.audit("queue.release-lease", { group, topic, partitionKey: pk }),
    });
    if (args.json) return printJson({ group, topic, partitionKey: pk, ...r });
    line(r.previousOwner ? `Released the lease held by ${r.previousOwner}.` : "No live lease was held; cleared.");
  },
};

const resetOffset: Command = {
  name: "reset-offset",
  summary: "Set a group's watermark in one partition; later messages are delivered again",
  usage: "<group> <topic> <partitionKey> --to <seq> [--force] [--yes]",
  details: [
    "  --to seq  the new watermark, 0 (replay everything) to the partition's head (skip everything)",
    "  --force   even while a subscriber holds a live lease (the lease is released)",
  ],
  required: ["group", "topic", "partitionKey"],
  options: { to: { type: "string" }, force: { type: "boolean" }, yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const [group, topic, pk] = [req(args, "group"), req(args, "topic"), req(args, "partitionKey")];
    const to = int(str(args, "to"), "--to", 0);
    if (to === undefined) throw new UsageError("reset-offset: missing --to <seq>");
    await confirm(
      `Reset group ${group} on ${topic} partition ${pk} to seq ${to}? Messages after it are delivered again.`,
      args.yes,
      "reset-offset",
    );
    const r = await ctx.queue().admin.resetOffset(group, topic, pk, to, {
      force: args.values.force === true,
      within: ctx.audit("queue.reset-offset", { group, topic, partitionKey: pk, toSeq: to }),
    });
    if (args.json) return printJson({ group, topic, partitionKey: pk, ...r });
    line(
      `Watermark ${r.previousWatermark} → ${r.watermark} (head ${r.headSeq}); ${r.clearedDeliveries} delivery rows cleared.`,
    );
    if (r.releasedOwner) line(`Released the lease held by ${r.releasedOwner}.`);
  },
};

const staleLeases: Command = {
  name: "stale-leases",
  summary: "Leases whose holder has stopped heartbeating, and taking them away",
  usage: "[--threshold ms] [--limit n] [--release] [--yes]",
  details: [
    `  --threshold ms  silent for longer than this (default ${STALE_LEASE_THRESHOLD_MS}, the default lease duration)`,
    "  --limit n       leases listed at most (default 1000)",
    "  --release       take them away (only those still held by the same silent holder)",
    "  --yes           do not ask",
  ],
  options: {
    threshold: { type: "string" },
    limit: { type: "string" },
    release: { type: "boolean" },
    yes: { type: "boolean", short: "y" },
  },
  async run(ctx, args) {
    const thresholdMs = int(str(args, "threshold"), "--threshold", 0, 30 * 24 * 3600_000) ?? STALE_LEASE_THRESHOLD_MS;
    const limit = int(str(args, "limit"), "--limit", 1, 100_000) ?? 1000;
    const stale = await ctx.queue().inspect.staleLeases({ thresholdMs, limit });
    let released: StaleLease[] | undefined;
    if (args.values.release === true && stale.length > 0) {
      await confirm(`Release ${stale.length} stale leases?`, args.yes, "stale-leases");
      const held = stale.map((l) => ({ group: l.group, topic: l.topic, partitionKey: l.partitionKey, owner: l.owner }));
      released = await ctx.queue().admin.releaseStaleLeases(held, {
        thresholdMs,
        within: ctx.audit("queue.release-stale-leases", { thresholdMs, leases: held }),
      });
    } else if (args.values.release === true) released = [];
    if (args.json) return printJson({ thresholdMs, leases: stale, ...(released ? { released } : {}) });
    line(
      table(
        ["GROUP", "TOPIC", "PARTITION", "HOLDER", "HOST", "PID", "SILENT", "EXPIRES", "EXPIRED"],
        stale.map((l) => [
          l.group,
          l.topic,
          l.partitionKey,
          l.subscriber?.name ?? l.owner,
          l.subscriber?.host,
          l.subscriber?.pid,
          l.silentMs === null ? "no subscriber" : `${Math.round(l.silentMs / 1000)} s`,
          when(l.leaseExpiresAt),
          l.expired ? "yes" : "no",
        ]),
      ),
    );
    if (released) line(`\nReleased ${released.length} of ${stale.length}.`);
  },
};

export const offsetCommands = [leases, releaseLease, resetOffset, staleLeases];
