import { z } from "zod";
import { consoleDeps } from "../../console-deps";
import { viewerProcedure } from "../../init";
import { topicName } from "../../queue-inputs";

/** Failures grouped by their normalised reason, biggest first (up to 50). */
export const failureGroups = viewerProcedure.input(z.object({ topic: topicName })).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  return queue.inspect.dlqFailureGroups(input.topic);
});
