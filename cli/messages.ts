// sluice messages / sluice message: a topic's log and one message in full.
import { QueueError, type StateFilter } from "../server/queue";
import { viewPayload } from "../server/trpc/payload-view";
import { type Command, int, oneOf, req, str, UsageError } from "./args";
import { line, printJson, table, when } from "./output";

const STATES: readonly StateFilter[] = ["all", "ready", "in_flight", "retrying", "deferred", "done"];

const messages: Command = {
  name: "messages",
  summary: "A topic's messages, newest first, with their state for a group",
  usage: "<topic> [--group g] [--state s] [--partition k] [--limit n] [--before logId]",
  details: [
    `  --state s      ${STATES.join(" | ")} (default all; all but deferred need --group)`,
    "  --partition k  one partition only",
    "  --limit n      rows (default 50, at most 1000)",
    "  --before id    the next page: the `next` log id a previous call printed",
  ],
  required: ["topic"],
  options: {
    group: { type: "string", short: "g" },
    state: { type: "string" },
    partition: { type: "string" },
    limit: { type: "string" },
    before: { type: "string" },
  },
  async run(ctx, args) {
    const group = str(args, "group") ?? null;
    const state = oneOf(str(args, "state"), "--state", STATES) ?? "all";
    if (group === null && state !== "all" && state !== "deferred") {
      throw new UsageError(`messages: --state ${state} needs --group (states belong to a consumer group)`);
    }
    const page = await ctx.queue().inspect.listMessages(req(args, "topic"), {
      group,
      state,
      partitionKey: str(args, "partition"),
      before: int(str(args, "before"), "--before", 1),
      limit: int(str(args, "limit"), "--limit", 1, 1000) ?? 50,
    });
    if (args.json) return printJson(page);
    line(
      table(
        ["LOG ID", "PARTITION", "SEQ", "ID", "STATE", "ATTEMPTS", "PUBLISHED"],
        page.messages.map((m) => [m.logId, m.partitionKey, m.seq, m.id, m.state, m.attempts, when(m.publishedAt)]),
      ),
    );
    if (page.next !== null) line(`\nmore: --before ${page.next}`);
  },
};

const message: Command = {
  name: "message",
  summary: "One message: payload (as JSON, text or hex), metadata, failure, per-group state",
  usage: "<topic> <partitionKey> <seq>",
  required: ["topic", "partitionKey", "seq"],
  async run(ctx, args) {
    const topic = req(args, "topic");
    const partitionKey = req(args, "partitionKey");
    const seq = int(req(args, "seq"), "<seq>", 1) ?? 1;
    const m = await ctx.queue().inspect.getMessage(topic, partitionKey, seq);
    if (!m) throw new QueueError("NOT_FOUND", `no message ${partitionKey}/${seq} in topic ${topic}`);
    const { payload, ...rest } = m;
    const view = viewPayload(payload);
    if (args.json) return printJson({ ...rest, payload: view });
    line(`topic       ${m.topic}`);
    line(`partition   ${m.partitionKey}  seq ${m.seq}  log id ${m.logId}`);
    line(`id          ${m.id}`);
    line(`published   ${when(m.publishedAt)}`);
    if (m.visibleAfter > m.publishedAt) line(`visible at  ${when(m.visibleAfter)}`);
    if (m.targetGroup) line(`for group   ${m.targetGroup}`);
    for (const [k, v] of Object.entries(m.metadata)) line(`meta        ${k}=${v}`);
    if (m.failure) {
      line(`failure     ${m.failure.reason}`);
      line(`            ${m.failure.count} attempts in group ${m.failure.originalGroup} of ${m.failure.originalTopic}`);
    }
    if (m.groups.length > 0) {
      line();
      line(
        table(
          ["GROUP", "STATE", "ATTEMPTS", "LAST ERROR"],
          m.groups.map((g) => [g.group, g.state, g.attempts, g.lastError]),
        ),
      );
    }
    line();
    line(`payload (${view.kind}, ${view.bytes} bytes${view.truncated ? ", cut short" : ""}):`);
    line(view.text);
  },
};

export const messageCommands = [messages, message];
