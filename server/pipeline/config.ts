// Which runner builds which queue, validated at start-up. Given as JSON in
// SLUICE_RUNNERS (see server/env.ts); the default needs no outside service.
import { z } from "zod";

const name = z.string().min(1).max(191);

export const runnerConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("noop") }).strict(),
  z
    .object({
      kind: z.literal("command"),
      /** Run with /bin/sh -c; sees SLUICE_BUILD_ID, SLUICE_QUEUE, SLUICE_BASE, SLUICE_HEAD, SLUICE_METADATA, SLUICE_BUILD_FILE. */
      command: z.string().min(1),
      cwd: z.string().min(1).optional(),
      /** Extra environment variables, with their values. */
      env: z.record(z.string(), z.string()).optional(),
      /** Names of the worker's environment variables the build also gets; otherwise only PATH, HOME, LANG and the like. */
      passEnv: z
        .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"))
        .max(100)
        .optional(),
      /** Fail the build after this long, ms. Default: no limit. */
      timeoutMs: z.number().int().positive().optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal("buildkite"),
      organization: name,
      pipeline: name,
      branch: name,
      /** Default "HEAD". */
      commit: name.optional(),
      /** Default https://api.buildkite.com. */
      apiBaseUrl: z.url().optional(),
    })
    .strict(),
]);

export type RunnerConfig = z.infer<typeof runnerConfigSchema>;

export const runnersConfigSchema = z
  .object({
    /** For queues not listed. Unset: such queues cannot be built. */
    default: runnerConfigSchema.optional(),
    queues: z.record(name, runnerConfigSchema).default({}),
  })
  .strict();

export type RunnersConfig = z.infer<typeof runnersConfigSchema>;

/** With no configuration: noop for every queue, and a `demo` queue whose builds take five seconds. */
export const DEFAULT_RUNNERS: RunnersConfig = {
  default: { kind: "noop" },
  queues: {
    demo: { kind: "command", command: 'echo "building $SLUICE_QUEUE: $SLUICE_HEAD"; sleep 5; echo done' },
  },
};

export interface PipelineConfig {
  runners: RunnersConfig;
  /** Delay before polling a build again, by its status, ms. Defaults: accepted 5,000, running 2,000. */
  pollDelayMs: { accepted: number; running: number };
  /** Where command builds keep their files. */
  buildDir: string;
  buildkiteToken?: string;
}
