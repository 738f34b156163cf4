import { writeAuditTx } from "@/server/auth/audit";
import { requestBuild } from "@/server/pipeline/actions";
import { buildRequestSchema } from "@/server/pipeline/build-request-schema";
import { actorOf, operatorProcedure } from "@/server/trpc/init";

/** Stores a batch and asks the pipeline to build it; the build appears once a worker handles it. */
export const trigger = operatorProcedure.input(buildRequestSchema).mutation(async ({ ctx, input }) => {
  const actor = actorOf(ctx);
  const batchId = await requestBuild(
    ctx.pipeline(),
    { ...input, requester: actor.name },
    { within: (tx) => writeAuditTx(tx, actor, { action: "build.trigger", target: { queue: input.queue }, count: 1 }) },
  );
  return { batchId };
});
