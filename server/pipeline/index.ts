// Building the pipeline's dependencies from the validated configuration.
import path from "node:path";
import { createDb, openUtcPool } from "@/db/client";
import type { Env } from "@/server/env";
import type { Logger } from "@/server/log";
import type { SluiceMetrics } from "@/server/metrics";
import { createQueue } from "@/server/queue";
import { DEFAULT_RUNNERS, type PipelineConfig } from "./config";
import type { PipelineDeps } from "./deps";
import { RunnerRegistry } from "./runners";
import { PipelineStore } from "./store";

export { cancelBuild, requestBuild } from "./actions";
export type { PipelineConfig } from "./config";
export type { PipelineDeps } from "./deps";
export { type PipelineWorker, startPipelineWorker, type WorkerOptions } from "./worker";

export function pipelineConfigFromEnv(env: Env): PipelineConfig {
  return {
    runners: env.SLUICE_RUNNERS ?? DEFAULT_RUNNERS,
    pollDelayMs: {
      accepted: env.SLUICE_POLL_ACCEPTED_MS,
      running: env.SLUICE_POLL_RUNNING_MS,
      waiting: env.SLUICE_POLL_WAITING_MS,
    },
    maxStatusFailures: env.SLUICE_MAX_STATUS_FAILURES,
    buildDir: path.resolve(env.SLUICE_BUILD_DIR),
    trafficRetentionDays: env.SLUICE_TRAFFIC_RETENTION_DAYS,
    buildkiteToken: env.BUILDKITE_API_TOKEN,
    github: {
      token: env.GITHUB_TOKEN,
      app:
        env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY
          ? {
              appId: env.GITHUB_APP_ID,
              privateKey: env.GITHUB_APP_PRIVATE_KEY,
              installationId: env.GITHUB_APP_INSTALLATION_ID,
            }
          : undefined,
      cancelGraceMs: env.SLUICE_GITHUB_CANCEL_GRACE_MS,
      findTimeoutMs: env.SLUICE_GITHUB_FIND_TIMEOUT_MS,
    },
  };
}

export interface Pipeline {
  deps: PipelineDeps;
  close(): Promise<void>;
}

/** Opens the queue and a pool for the pipeline's tables. The schema must be migrated already. */
export function openPipeline(
  databaseUrl: string,
  config: PipelineConfig,
  log: Logger,
  metrics?: SluiceMetrics,
): Pipeline {
  const queue = createQueue({
    url: databaseUrl,
    onEvent: metrics?.onQueueEvent,
    trafficRetentionDays: config.trafficRetentionDays,
  });
  const pool = openUtcPool(databaseUrl, { connectionLimit: 5 });
  const db = createDb(pool);
  // The github runner's trigger locks hold a connection each for as long as a dispatch takes: a pool of
  // their own keeps them from starving the pipeline's queries (connections open only when used).
  const lockPool = openUtcPool(databaseUrl, { connectionLimit: 10 });
  const deps: PipelineDeps = {
    queue,
    store: new PipelineStore(db),
    runners: new RunnerRegistry(config, db, { log, pool: lockPool }),
    config,
    log,
    metrics,
  };
  metrics?.setGaugeSource({
    topics: () => queue.inspect.listTopics(),
    buildsByStatus: async () =>
      Object.fromEntries((await deps.store.countBuildsByStatus()).map((r) => [r.status, r.count])),
  });
  return {
    deps,
    async close() {
      await queue.close();
      await pool.end();
      await lockPool.end();
    },
  };
}
