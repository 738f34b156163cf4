// sluice builds / build / trigger / cancel: the pipeline's builds, through the
// same actions and reads as the console (server/pipeline).
import { BUILD_STATUSES, type BuildStatus } from "@/server/buildrunner/types";
import { cancelBuild, requestBuild } from "@/server/pipeline";
import { buildRequestSchema, queueNameSchema } from "@/server/pipeline/build-request-schema";
import { getBuildDetail, listBuilds } from "@/server/pipeline/reads";
import { type Command, int, list, oneOf, req, str, UsageError } from "./args";
import { confirm, line, printJson, table, when } from "./output";

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

const builds: Command = {
  name: "builds",
  summary: "Builds, newest first",
  usage: "[--status s] [--queue q] [--limit n]",
  details: [
    `  --status s  ${BUILD_STATUSES.join(" | ")}`,
    "  --queue q   one queue",
    "  --limit n   rows (default 20, at most 200)",
  ],
  options: { status: { type: "string" }, queue: { type: "string" }, limit: { type: "string" } },
  async run(ctx, args) {
    const status = oneOf<BuildStatus>(str(args, "status"), "--status", BUILD_STATUSES);
    const queue = str(args, "queue");
    if (queue !== undefined) {
      const q = queueNameSchema.safeParse(queue);
      if (!q.success) throw new UsageError(`--queue: ${q.error.issues[0]?.message}`);
    }
    const limit = int(str(args, "limit"), "--limit", 1, 200) ?? 20;
    const page = await listBuilds(ctx.pipeline().deps, { status, queue, limit });
    if (args.json) return printJson(page);
    line(
      table(
        ["ID", "QUEUE", "RUNNER", "STATUS", "CREATED", "DURATION"],
        page.rows.map((b) => [b.id, b.queue, b.runner, b.status, when(b.createdAt), seconds(b.duration)]),
      ),
    );
  },
};

const build: Command = {
  name: "build",
  summary: "One build: its batch, status history and the runner's metadata",
  usage: "<buildId>",
  required: ["buildId"],
  async run(ctx, args) {
    const d = await getBuildDetail(ctx.pipeline().deps, req(args, "buildId"));
    if (args.json) return printJson(d);
    const b = d.build;
    line(`build     ${b.id}`);
    line(`queue     ${b.queue} (runner ${b.runner})`);
    line(`status    ${b.status}  ${seconds(b.duration)}`);
    if (d.batch) {
      line(`batch     ${d.batch.id} by ${d.batch.requester}`);
      for (const c of d.batch.base) line(`base      ${c.uris.join(" ")}`);
      for (const c of d.batch.head) line(`head      ${c.uris.join(" ")}`);
    }
    for (const [k, v] of Object.entries(b.metadata)) line(`meta      ${k}=${v}`);
    line();
    line(
      table(
        ["STATUS", "AT"],
        d.history.map((h) => [h.status, when(h.at)]),
      ),
    );
  },
};

/** --meta k=v pairs into a record. */
function metadataOf(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new UsageError(`--meta must look like key=value (got "${p}")`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

const trigger: Command = {
  name: "trigger",
  summary: "Ask the pipeline to build changes on a queue",
  usage: "<queue> --head <uri>... [--base <uri>...] [--meta k=v...]",
  details: [
    "  --head uri  a change to verify; repeat for more changes (URIs of one change: separated by spaces)",
    "  --base uri  a change assumed good, the same way",
    "  --meta k=v  metadata for the runner; repeatable",
    "Prints the batch id; a worker (npm run worker) triggers its build.",
  ],
  required: ["queue"],
  options: {
    head: { type: "string", multiple: true },
    base: { type: "string", multiple: true },
    meta: { type: "string", multiple: true },
  },
  async run(ctx, args) {
    const change = (v: string) => ({ uris: v.split(/\s+/).filter(Boolean) });
    const parsed = buildRequestSchema.safeParse({
      queue: req(args, "queue"),
      head: list(args, "head").map(change),
      base: list(args, "base").map(change),
      metadata: metadataOf(list(args, "meta")),
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`trigger: ${issue?.path.length ? `${issue.path.join(".")}: ` : ""}${issue?.message}`);
    }
    const batchId = await requestBuild(
      ctx.pipeline().deps,
      { ...parsed.data, requester: ctx.actor },
      { within: ctx.auditTx("build.trigger", { queue: parsed.data.queue }) },
    );
    if (args.json) return printJson({ batchId, queue: parsed.data.queue, requester: ctx.actor });
    line(`Requested batch ${batchId} on ${parsed.data.queue}.`);
  },
};

const cancel: Command = {
  name: "cancel",
  summary: "Cancel a build",
  usage: "<buildId> [--yes]",
  required: ["buildId"],
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const id = req(args, "buildId");
    await confirm(`Cancel build ${id}?`, args.yes, "cancel");
    const result = await cancelBuild(ctx.pipeline().deps, id, { within: ctx.auditTx("build.cancel", { build: id }) });
    if (args.json) return printJson({ buildId: id, result });
    line(result === "requested" ? `Cancel of build ${id} requested.` : `Build ${id} had already finished.`);
  },
};

export const buildCommands = [builds, build, trigger, cancel];
