import { TRPCError } from "@trpc/server";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { viewPayload } from "@/server/trpc/payload-view";
import { messageAddress } from "@/server/trpc/queue-inputs";

/** One message with its payload (base64 and a decoded view), metadata and each group's state. */
export const message = viewerProcedure.input(messageAddress).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  const m = await queue.inspect.getMessage(input.topic, input.partitionKey, input.seq);
  if (!m) {
    throw new TRPCError({
      code: "NOT_FOUND",
      message: `There is no message ${input.topic}/${input.partitionKey}#${input.seq}; it may have been collected or requeued.`,
    });
  }
  const { payload, ...rest } = m;
  return { ...rest, payload: viewPayload(payload), serverNow: Date.now() };
});
