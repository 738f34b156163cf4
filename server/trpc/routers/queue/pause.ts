import { z } from "zod";
import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { groupName, topicName } from "@/server/trpc/queue-inputs";

/** Stops handing out a consumer group's rows of a topic; the signed-in operator is recorded as who paused it. */
export const pause = operatorProcedure
  .input(z.object({ topic: topicName, group: groupName }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    const actor = actorOf(ctx);
    return queue.admin.pauseGroup(input.group, input.topic, {
      by: actor.name,
      within: auditWithin(actor, "queue.pause", { group: input.group, topic: input.topic }),
    });
  });
