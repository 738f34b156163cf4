import { z } from "zod";
import { auditWithin } from "../../../auth/audit";
import { consoleDeps } from "../../console-deps";
import { actorOf, operatorProcedure } from "../../init";
import { groupName, topicName } from "../../queue-inputs";

/** Lets a paused consumer group's subscribers fetch again. */
export const resume = operatorProcedure
  .input(z.object({ topic: topicName, group: groupName }))
  .mutation(async ({ ctx, input }) => {
    const { queue } = consoleDeps(ctx);
    return queue.admin.resumeGroup(input.group, input.topic, {
      within: auditWithin(actorOf(ctx), "queue.resume", { group: input.group, topic: input.topic }),
    });
  });
