// Which runner builds which queue, validated at start-up. Given as JSON in
// SLUICE_RUNNERS (see server/env.ts); the default needs no outside service.
import { z } from "zod";
import { OWNER_PATTERN, REPO_PATTERN } from "@/server/buildrunner/github/ids";
import { DEFAULT_ID_INPUT, INPUT_NAME_PATTERN, INPUT_SOURCES, MAX_INPUTS } from "@/server/buildrunner/github/inputs";

const name = z.string().min(1).max(191);

const pollMs = z.number().int().min(10).max(3_600_000);

/**
 * Settings any queue may carry next to its runner (fields of the runner's
 * object in SLUICE_RUNNERS; on `default` they apply to each queue it builds,
 * one by one). Unset fields take the global values.
 */
const queueSettingFields = {
  /** Delay before polling an accepted build again, ms (10 to 3,600,000). Default SLUICE_POLL_ACCEPTED_MS (5,000). */
  pollAcceptedMs: pollMs.optional(),
  /** Delay before polling a running build again, ms (10 to 3,600,000). Default SLUICE_POLL_RUNNING_MS (2,000). */
  pollRunningMs: pollMs.optional(),
  /**
   * Delay before polling a build that waits on a person (a Buildkite block
   * step, a GitHub environment awaiting approval), ms (10 to 3,600,000).
   * Default SLUICE_POLL_WAITING_MS (30,000).
   */
  pollWaitingMs: pollMs.optional(),
  /**
   * At most this many of the queue's batches build at once (1 to 10,000);
   * the others wait for a slot, oldest first. Default: no limit.
   */
  maxConcurrentBuilds: z.number().int().min(1).max(10_000).optional(),
  /**
   * A build whose status calls fail this many times in a row (1 to 1,000)
   * ends failed with the last error as its reason. Default
   * SLUICE_MAX_STATUS_FAILURES (10).
   */
  maxStatusFailures: z.number().int().min(1).max(1_000).optional(),
};

const inputName = z.string().regex(INPUT_NAME_PATTERN, "must be a workflow input name (letters, digits, _ and -)");

const githubRunner = z
  .object({
    kind: z.literal("github"),
    owner: z.string().regex(OWNER_PATTERN, "must be a GitHub user or organization name"),
    repo: z.string().regex(REPO_PATTERN, "must be a GitHub repository name"),
    /** The workflow's file name (merge-queue.yml) or numeric id. */
    workflow: z
      .string()
      .regex(/^(?:[1-9][0-9]{0,19}|[A-Za-z0-9._-]+\.ya?ml)$/, "must be a workflow file name like ci.yml, or its id"),
    /** The branch or tag whose version of the workflow runs. */
    ref: name,
    /** Workflow input → what it gets: queue, base, head (JSON), baseUris, headUris, metadata (JSON), requester, or { "value": "..." }. */
    inputs: z
      .record(inputName, z.union([z.enum(INPUT_SOURCES), z.object({ value: z.string().max(1000) }).strict()]))
      .optional(),
    /** The input that carries the build's correlation id; the workflow's run-name must show it. Default sluice_id. */
    idInput: inputName.optional(),
    /** For GitHub Enterprise Server: https://HOST/api/v3. Default https://api.github.com. */
    apiUrl: z.url().optional(),
    /** token: GITHUB_TOKEN; app: the GitHub App of GITHUB_APP_ID. Default app when GITHUB_APP_ID is set, else token. */
    auth: z.enum(["token", "app"]).optional(),
    /** The App's installation for this repository. Default GITHUB_APP_INSTALLATION_ID, else looked up. */
    installationId: z
      .union([z.number().int().positive(), z.string().regex(/^[1-9][0-9]{0,19}$/)])
      .transform(String)
      .optional(),
    /** false: never ask for run details (a server known to refuse them). Default true. */
    returnRunDetails: z.boolean().optional(),
    ...queueSettingFields,
  })
  .strict()
  .superRefine((v, ctx) => {
    const idInput = v.idInput ?? DEFAULT_ID_INPUT;
    if (v.inputs && idInput in v.inputs) {
      ctx.addIssue({ code: "custom", path: ["inputs", idInput], message: `is the correlation id's input (idInput)` });
    }
    if (Object.keys(v.inputs ?? {}).length + 1 > MAX_INPUTS) {
      ctx.addIssue({
        code: "custom",
        path: ["inputs"],
        message: `GitHub takes at most ${MAX_INPUTS} inputs, the id's included`,
      });
    }
  });

export const runnerConfigSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("noop"), ...queueSettingFields }).strict(),
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
      ...queueSettingFields,
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
      ...queueSettingFields,
    })
    .strict(),
  githubRunner,
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

export interface PollDelays {
  accepted: number;
  running: number;
  /** A build waiting on a person (isWaiting): polled slower, since only a person moves it. */
  waiting: number;
}

export interface PipelineConfig {
  runners: RunnersConfig;
  /**
   * Delay before polling a build again, by its status, ms; a queue's own
   * poll*Ms win. Defaults: accepted 5,000, running 2,000, waiting 30,000.
   */
  pollDelayMs: Omit<PollDelays, "waiting"> & { waiting?: number };
  /** Consecutive failed status calls before a build ends failed; a queue's maxStatusFailures wins. Default 10. */
  maxStatusFailures?: number;
  /** Where command builds keep their files. */
  buildDir: string;
  buildkiteToken?: string;
  github?: GitHubSettings;
  /** Days of per-minute queue traffic garbage collection keeps. Default: the queue's (7). */
  trafficRetentionDays?: number;
}

export interface GitHubSettings {
  token?: string;
  app?: { appId: string; privateKey: string; installationId?: string };
  /** After a cancel, how long before force-cancel, ms. */
  cancelGraceMs: number;
  /** How long to look for a run dispatched without run details, ms. */
  findTimeoutMs: number;
}

export const DEFAULT_POLL_WAITING_MS = 30_000;
export const DEFAULT_MAX_STATUS_FAILURES = 10;

/** A queue's settings with the global defaults filled in. */
export interface QueueSettings {
  poll: PollDelays;
  /** undefined: no cap. */
  maxConcurrentBuilds: number | undefined;
  maxStatusFailures: number;
}

// Per config object: the hot path (every status poll) reads settings without building them again.
const settingsCache = new WeakMap<PipelineConfig, Map<string, QueueSettings>>();

/** The settings of a queue: its runner's fields over the global ones (in memory, no database). */
export function queueSettings(config: PipelineConfig, queue: string): QueueSettings {
  let byQueue = settingsCache.get(config);
  if (!byQueue) {
    byQueue = new Map();
    settingsCache.set(config, byQueue);
  }
  let s = byQueue.get(queue);
  if (!s) {
    const rc = config.runners.queues[queue] ?? config.runners.default;
    const global = config.pollDelayMs;
    s = {
      poll: {
        accepted: rc?.pollAcceptedMs ?? global.accepted,
        running: rc?.pollRunningMs ?? global.running,
        waiting: rc?.pollWaitingMs ?? global.waiting ?? DEFAULT_POLL_WAITING_MS,
      },
      maxConcurrentBuilds: rc?.maxConcurrentBuilds,
      maxStatusFailures: rc?.maxStatusFailures ?? config.maxStatusFailures ?? DEFAULT_MAX_STATUS_FAILURES,
    };
    // Queue names come from batches, which anyone with the operator role can create: bound what is kept.
    if (byQueue.size < 10_000) byQueue.set(queue, s);
  }
  return s;
}
