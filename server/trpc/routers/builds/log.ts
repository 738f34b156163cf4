import { z } from "zod";
import { getBuildLog } from "@/server/pipeline/build-log";
import { viewerProcedure } from "@/server/trpc/init";
import { buildIdSchema } from "./get";

/** One page of a command build's output (0-based, or the last one, which grows while the build runs). */
export const log = viewerProcedure
  .input(
    z
      .object({
        id: buildIdSchema,
        page: z.union([z.int().min(0).max(1_000_000), z.literal("last")]),
      })
      .strict(),
  )
  .query(({ ctx, input }) => getBuildLog(ctx.pipeline(), input.id, input.page));
