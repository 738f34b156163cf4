// sluice pause / resume: stop and restart a consumer group's consumption of
// a topic during an incident. Each change is audited in its own transaction.
import type { GroupPause } from "@/server/queue";
import { type Command, req } from "./args";
import type { Ctx } from "./context";
import { line, printJson, when } from "./output";

function report(r: GroupPause, json: boolean) {
  if (json) return printJson(r);
  const what = `group ${r.group} on ${r.topic}`;
  if (r.paused) {
    line(`${r.changed ? "Paused" : "Already paused:"} ${what} (by ${r.pausedBy}, ${when(r.pausedAt)}).`);
    if (r.changed) line("Deliveries already out finish as usual; nothing more is handed out until resume.");
  } else line(`${r.changed ? "Resumed" : "Not paused:"} ${what}.`);
}

const pause: Command = {
  name: "pause",
  summary: "Stop handing out a consumer group's messages of a topic (other groups go on)",
  usage: "<group> <topic>",
  required: ["group", "topic"],
  async run(ctx: Ctx, args) {
    const [group, topic] = [req(args, "group"), req(args, "topic")];
    const r = await ctx.queue().admin.pauseGroup(group, topic, {
      by: ctx.actor,
      within: ctx.audit("queue.pause", { group, topic }),
    });
    report(r, args.json);
  },
};

const resume: Command = {
  name: "resume",
  summary: "Let a paused consumer group's subscribers fetch again",
  usage: "<group> <topic>",
  required: ["group", "topic"],
  async run(ctx: Ctx, args) {
    const [group, topic] = [req(args, "group"), req(args, "topic")];
    const r = await ctx.queue().admin.resumeGroup(group, topic, {
      within: ctx.audit("queue.resume", { group, topic }),
    });
    report(r, args.json);
  },
};

export const consumptionCommands = [pause, resume];
