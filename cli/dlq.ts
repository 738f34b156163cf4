// sluice dlq / dlq-groups / requeue / requeue-all / purge: the dead-letter
// queue. Bulk actions are jobs (server/queue/ops/jobs.ts) run in the
// foreground: progress on stderr, Ctrl-C cancels the job.
import os from "node:os";
import type { DlqFilter, Job, JobKind } from "@/server/queue";
import { type Args, type Command, int, req, str, UsageError } from "./args";
import type { Ctx } from "./context";
import { confirm, line, printJson, table, when } from "./output";

const FILTER_OPTIONS = {
  search: { type: "string" },
  "failure-group": { type: "string" },
  group: { type: "string" },
} as const;

const FILTER_HELP = [
  "  --search s         message id or partition key, exactly, or text in the failure reason",
  "  --failure-group g  one normalised failure (see sluice dlq-groups)",
  "  --group og         the consumer group the messages failed in",
];

function filterOf(args: Args): DlqFilter {
  return {
    topic: req(args, "dlqTopic"),
    search: str(args, "search") || undefined,
    failureGroup: str(args, "failure-group"),
    originalGroup: str(args, "group"),
  };
}

const dlq: Command = {
  name: "dlq",
  summary: "A DLQ's messages, newest first, optionally filtered",
  usage: "<dlqTopic> [--search s] [--failure-group g] [--group og] [--limit n] [--before logId]",
  details: [
    ...FILTER_HELP,
    "  --limit n          rows (default 50, at most 1000)",
    "  --before id        the next page",
  ],
  required: ["dlqTopic"],
  options: { ...FILTER_OPTIONS, limit: { type: "string" }, before: { type: "string" } },
  async run(ctx, args) {
    const filter = filterOf(args);
    const limit = int(str(args, "limit"), "--limit", 1, 1000) ?? 50;
    const before = int(str(args, "before"), "--before", 1);
    const [page, total] = await Promise.all([
      ctx.queue().inspect.listDlq(filter, { limit, before }),
      ctx.queue().inspect.countDlq(filter),
    ]);
    if (args.json) return printJson({ ...page, total });
    line(
      table(
        ["PARTITION", "SEQ", "ID", "GROUP", "ATTEMPTS", "FAILED", "REASON"],
        page.rows.map((r) => [
          r.partitionKey,
          r.seq,
          r.id,
          r.originalGroup,
          r.failureCount,
          when(r.failedAt),
          r.reason.length > 80 ? `${r.reason.slice(0, 77)}...` : r.reason,
        ]),
      ),
    );
    line(`\n${total} matching${page.next === null ? "" : `; more: --before ${page.next}`}`);
  },
};

const dlqGroups: Command = {
  name: "dlq-groups",
  summary: "A DLQ's failures grouped by normalised reason, biggest first",
  usage: "<dlqTopic>",
  required: ["dlqTopic"],
  async run(ctx, args) {
    const rows = await ctx.queue().inspect.dlqFailureGroups(req(args, "dlqTopic"));
    if (args.json) return printJson(rows);
    line(
      table(
        ["COUNT", "FAILURE GROUP", "LAST FAILED", "SAMPLE"],
        rows.map((g) => [g.count, g.failureGroup, when(g.lastFailedAt), g.sampleReason.slice(0, 80)]),
      ),
    );
  },
};

const requeue: Command = {
  name: "requeue",
  summary: "Send one DLQ message back to the topic and group it failed in",
  usage: "<dlqTopic> <partitionKey> <seq>",
  required: ["dlqTopic", "partitionKey", "seq"],
  async run(ctx, args) {
    const address = {
      topic: req(args, "dlqTopic"),
      partitionKey: req(args, "partitionKey"),
      seq: int(req(args, "seq"), "<seq>", 1) ?? 1,
    };
    await ctx.queue().admin.requeueDeadLetter(address, { within: ctx.audit("dlq.requeue", [address]) });
    if (args.json) return printJson({ requeued: 1, ...address });
    line(`Requeued ${address.partitionKey}/${address.seq} from ${address.topic}.`);
  },
};

/** Counts, confirms, then runs the job here until it ends; Ctrl-C asks it to stop. */
async function runBulk(ctx: Ctx, args: Args, kind: JobKind, rate: number): Promise<void> {
  const filter = filterOf(args);
  const q = ctx.queue();
  const n = await q.inspect.countDlq(filter);
  const verb = kind === "purge" ? "Delete" : "Requeue";
  const name = kind === "purge" ? "purge" : "requeue-all";
  await confirm(`${verb} ${n} messages?`, args.yes, name);
  // The confirmed count: if the filter matches another number by now, the job is refused.
  const job = await q.admin.createJob(
    { kind, filter, ratePerSecond: rate, createdBy: ctx.actor, expectedCount: n },
    { audit: ctx.auditJob(kind === "purge" ? "dlq.purge" : "dlq.requeue-matching", filter) },
  );
  const progress = (j: Job) => process.stderr.write(`${j.kind} ${j.id}: ${j.processed}/${j.total} ${j.state}\n`);
  let cancelling = false;
  const onSigint = () => {
    if (cancelling) return;
    cancelling = true;
    process.stderr.write("cancelling...\n");
    void q.admin.cancelJob(job.id, { within: ctx.audit("dlq.cancel-job", { job: job.id }) }).catch(() => {});
  };
  process.on("SIGINT", onSigint);
  const ticker = setInterval(() => {
    void q.inspect.getJob(job.id).then(
      (j) => j && j.state === "running" && progress(j),
      () => {},
    );
  }, 1000);
  let done: Job | null;
  try {
    done = job.state === "running" ? await q.admin.runJob(job.id, `cli:${os.hostname()}:${process.pid}`) : job;
  } finally {
    clearInterval(ticker);
    process.off("SIGINT", onSigint);
  }
  const final = done ?? job;
  if (!args.json) progress(final);
  if (args.json) printJson(final);
  else line(`${final.processed} of ${final.total} ${kind === "purge" ? "deleted" : "requeued"} (${final.state}).`);
  if (final.state === "failed") throw new Error(`job ${final.id} failed: ${final.error}`);
  if (final.state === "cancelled") process.exitCode = 130;
}

const requeueAll: Command = {
  name: "requeue-all",
  summary: "Requeue every DLQ message matching a filter, at a rate",
  usage: "<dlqTopic> [--search s] [--failure-group g] [--group og] --rate n [--yes]",
  details: [...FILTER_HELP, "  --rate n           messages per second (1-10000)", "  --yes              do not ask"],
  required: ["dlqTopic"],
  options: { ...FILTER_OPTIONS, rate: { type: "string" }, yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const rate = int(str(args, "rate"), "--rate", 1, 10_000);
    if (rate === undefined) throw new UsageError("requeue-all: missing --rate <n> (messages per second)");
    await runBulk(ctx, args, "requeue", rate);
  },
};

const purge: Command = {
  name: "purge",
  summary: "Delete every DLQ message matching a filter",
  usage: "<dlqTopic> [--search s] [--failure-group g] [--group og] [--rate n] [--yes]",
  details: [...FILTER_HELP, "  --rate n           rows per second (default 1000)", "  --yes              do not ask"],
  required: ["dlqTopic"],
  options: { ...FILTER_OPTIONS, rate: { type: "string" }, yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    await runBulk(ctx, args, "purge", int(str(args, "rate"), "--rate", 1, 10_000) ?? 1000);
  },
};

export const dlqCommands = [dlq, dlqGroups, requeue, requeueAll, purge];
