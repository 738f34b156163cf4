// The web server's handle on the pipeline (for the console's actions and the
// webhook routes): opened on first use from the validated configuration and
// kept on globalThis, so next dev's module reloads never open a second pool.
import { getEnv } from "@/server/env";
import { createLogger } from "@/server/log";
import { getMetrics } from "@/server/metrics";
import { openPipeline, type Pipeline, pipelineConfigFromEnv } from ".";

const store = globalThis as typeof globalThis & { __sluiceWebPipeline?: Pipeline };

export function getWebPipeline(): Pipeline {
  if (!store.__sluiceWebPipeline) {
    const env = getEnv();
    store.__sluiceWebPipeline = openPipeline(
      env.DATABASE_URL,
      pipelineConfigFromEnv(env),
      createLogger({ pid: process.pid, in: "web" }),
      getMetrics(),
    );
  }
  return store.__sluiceWebPipeline;
}
