// sluice messages / message / delete-message / purge-topic: a topic's log, one
// message in full, and taking messages out of it by hand.
import { QueueError, STATE_FILTERS } from "@/server/queue";
import { viewPayload } from "@/server/trpc/payload-view";
import { type Command, int, oneOf, req, str, UsageError } from "./args";
import { confirm, line, printJson, table, when } from "./output";

const STATES = STATE_FILTERS;

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

const deleteMessage: Command = {
  name: "delete-message",
  summary: "Delete one message from a topic's log, with every group's delivery state of it",
  usage: "<topic> <partitionKey> <seq> [--yes]",
  details: [
    "  A subscriber that has it out gets DELIVERY_EXPIRED when it settles it; nothing else changes.",
    "  Works on DLQ topics too (one dead letter).",
    "  --yes  do not ask",
  ],
  required: ["topic", "partitionKey", "seq"],
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const topic = req(args, "topic");
    const partitionKey = req(args, "partitionKey");
    const seq = int(req(args, "seq"), "<seq>", 1) ?? 1;
    const m = await ctx.queue().inspect.getMessage(topic, partitionKey, seq);
    if (!m) throw new QueueError("NOT_FOUND", `no message ${partitionKey}/${seq} in topic ${topic}`);
    await confirm(`Delete message ${m.id} (${partitionKey}/${seq}) from ${topic}?`, args.yes, "delete-message");
    const address = { topic, partitionKey, seq };
    const r = await ctx.queue().admin.deleteMessage(address, {
      within: ctx.audit("queue.delete-message", { ...address, id: m.id }),
    });
    if (args.json) return printJson({ deleted: 1, ...r });
    line(`Deleted ${r.id} (${partitionKey}/${seq}) from ${topic}; ${r.deliveriesCleared} delivery rows cleared.`);
    if (r.inFlightFor.length > 0) line(`It was in flight for ${r.inFlightFor.join(", ")}: that settle will fail.`);
  },
};

const purgeTopic: Command = {
  name: "purge-topic",
  summary: "Delete every message of a topic (exactly the count confirmed)",
  usage: "<topic> [--yes]",
  details: [
    "  One transaction; refused, with nothing deleted, if the topic no longer holds the",
    "  count confirmed. Messages published after the purge began are kept. Partitions,",
    "  groups and their watermarks stay, so later messages are delivered as usual.",
    "  --yes  do not ask",
  ],
  required: ["topic"],
  options: { yes: { type: "boolean", short: "y" } },
  async run(ctx, args) {
    const topic = req(args, "topic");
    const q = ctx.queue();
    const n = await q.inspect.countMessages(topic);
    if (n === 0) {
      if (args.json) return printJson({ topic, deleted: 0, deliveriesCleared: 0 });
      return line(`Topic ${topic} holds no messages; nothing done.`);
    }
    await confirm(`Delete all ${n} messages of topic ${topic}?`, args.yes, "purge-topic");
    // The confirmed count: if the topic holds another number by now, the purge is refused.
    const r = await q.admin.purgeTopic(topic, {
      expectedCount: n,
      within: ctx.audit("queue.purge-topic", { topic, expectedCount: n }),
    });
    if (args.json) return printJson(r);
    line(`Deleted ${r.deleted} messages from ${topic}; ${r.deliveriesCleared} delivery rows cleared.`);
  },
};

export const messageCommands = [messages, message, deleteMessage, purgeTopic];
