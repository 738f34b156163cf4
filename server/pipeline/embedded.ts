// The worker inside the web server, for a single-node install: the same
// pipeline worker `npm run worker` runs, kept on globalThis so that a
// re-evaluated module (next dev) never starts a second one.
import { getEnv } from "@/server/env";
import { createLogger } from "@/server/log";
import { getMetrics } from "@/server/metrics";
import { openPipeline, type Pipeline, type PipelineWorker, pipelineConfigFromEnv, startPipelineWorker } from ".";

interface EmbeddedState {
  pipeline: Pipeline;
  worker: PipelineWorker;
  startedAt: number;
}

const store = globalThis as typeof globalThis & { __sluiceEmbeddedWorker?: EmbeddedState };

export function embeddedWorkerState(): { running: boolean; name?: string; startedAt?: number } {
  const s = store.__sluiceEmbeddedWorker;
  return s ? { running: true, name: s.worker.name, startedAt: s.startedAt } : { running: false };
}

/** Starts the in-process worker unless it runs already; the database must be migrated. */
export function startEmbeddedWorker(): { started: boolean } {
  if (store.__sluiceEmbeddedWorker) return { started: false };
  const env = getEnv();
  const pipeline = openPipeline(
    env.DATABASE_URL,
    pipelineConfigFromEnv(env),
    createLogger({ pid: process.pid, in: "web" }),
    getMetrics(),
  );
  const worker = startPipelineWorker(pipeline.deps, { name: `web-${process.pid}` });
  store.__sluiceEmbeddedWorker = { pipeline, worker, startedAt: Date.now() };
  // Here rather than in instrumentation.ts, which Next.js also compiles for the Edge runtime (no process.once).
  process.once("SIGTERM", () => void stopEmbeddedWorker());
  return { started: true };
}

export async function stopEmbeddedWorker(): Promise<void> {
  const s = store.__sluiceEmbeddedWorker;
  if (!s) return;
  store.__sluiceEmbeddedWorker = undefined;
  await s.worker.stop();
  await s.pipeline.close();
}
