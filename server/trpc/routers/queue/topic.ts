import { TRPCError } from "@trpc/server";
import { z } from "zod";
import { consoleDeps } from "@/server/trpc/console-deps";
import { viewerProcedure } from "@/server/trpc/init";
import { topicName } from "@/server/trpc/queue-inputs";

/** One topic's counts and groups (the header of the topic page). */
export const topic = viewerProcedure.input(z.object({ topic: topicName })).query(async ({ ctx, input }) => {
  const { queue } = consoleDeps(ctx);
  const found = (await queue.inspect.listTopics()).find((t) => t.topic === input.topic);
  if (!found) throw new TRPCError({ code: "NOT_FOUND", message: `There is no topic "${input.topic}".` });
  return { ...found, serverNow: Date.now() };
});
