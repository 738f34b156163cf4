import { z } from "zod";
import { auditWithin } from "@/server/auth/audit";
import { consoleDeps } from "@/server/trpc/console-deps";
import { actorOf, operatorProcedure } from "@/server/trpc/init";
import { groupName, topicName } from "@/server/trpc/queue-inputs";

/** Lets a paused consumer group's subscribers fetch again. */
export const resume = operatorProcedure
  .input(z.object({ topic: topicName, group: groupName }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    return queue.admin.resumeGroup(input.group, input.topic, {
      within: auditWithin(actorOf(ctx), "queue.resume", { group: input.group, topic: input.topic }),
    });
  });
