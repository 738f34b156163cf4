import { z } from "zod";
import { listWaitingBatches } from "@/server/pipeline/reads";
import { viewerProcedure } from "@/server/trpc/init";

/**
 * Batches of capped queues (maxConcurrentBuilds) waiting for a build slot,
 * oldest first, each with its place in its queue's line (1: next to start).
 */
export const waiting = viewerProcedure
  .input(z.object({ limit: z.number().int().min(1).max(200).default(50) }).strict())
  .query(async ({ ctx, input }) => ({ items: await listWaitingBatches(ctx.pipeline(), input.limit) }));
