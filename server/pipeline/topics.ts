// The pipeline's three topics (a batch's build, its build's polls and pushes,
// the batch's verdict) and their payloads.
import { z } from "zod";

export const TOPICS = { build: "build", buildsignal: "buildsignal", speculate: "speculate" } as const;

/** The consumer group every worker process joins. */
export const PIPELINE_GROUP = "pipeline";

/** `build` and `speculate` carry a batch id, `buildsignal` a build id. */
export const idPayload = z.object({ id: z.string().min(1).max(191) }).strict();
export type IdPayload = z.infer<typeof idPayload>;

/** Metadata key of a buildsignal message that is a poll (not a push): its generation. */
export const POLL_GENERATION = "poll";
