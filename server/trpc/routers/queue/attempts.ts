import { TRPCError } from "@trpc/server";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { messageAddress } from "@/server/trpc/queue-inputs";

/** One message's delivery attempts in each consumer group (the last ATTEMPT_HISTORY_CAP), and when a retry is due. */
export const attempts = viewerProcedure.input(messageAddress).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  const a = await queue.inspect.getAttempts(input.topic, input.partitionKey, input.seq);
  if (!a) {
    throw new TRPCError({
      code: "NOT_FOUND",
      message: `There is no message ${input.topic}/${input.partitionKey}#${input.seq}; it may have been collected or requeued.`,
    });
  }
  return { ...a, serverNow: Date.now() };
});
