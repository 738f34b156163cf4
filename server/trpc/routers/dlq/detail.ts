import { TRPCError } from "@trpc/server";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { viewPayload } from "@/server/trpc/payload-view";
import { messageAddress } from "@/server/trpc/queue-inputs";

/** One dead letter: its failure, metadata and payload (base64 and a decoded view). */
export const detail = viewerProcedure.input(messageAddress).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  const d = await queue.inspect.getDeadLetter(input.topic, input.partitionKey, input.seq);
  if (!d) {
    throw new TRPCError({
      code: "NOT_FOUND",
      message: `There is no dead letter ${input.topic}/${input.partitionKey}#${input.seq}; it may have been requeued or purged.`,
    });
  }
  const { payload, ...rest } = d;
  return { ...rest, payload: viewPayload(payload), serverNow: Date.now() };
});
