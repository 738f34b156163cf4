import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { silentLogger } from "@/server/log";
import { openPipeline, type Pipeline } from "@/server/pipeline";
import type { PipelineConfig, RunnersConfig } from "@/server/pipeline/config";
import { until } from "@/tests/helpers/wait";

export async function pipelineConfig(
  runners: RunnersConfig,
  poll = { accepted: 300, running: 400 },
): Promise<PipelineConfig> {
  return {
    runners,
    pollDelayMs: poll,
    buildDir: await mkdtemp(path.join(tmpdir(), "sluice-builds-")),
  };
}

export function open(url: string, config: PipelineConfig): Pipeline {
  return openPipeline(url, config, silentLogger);
}

/** Waits for the batch's verdict and returns it with its build. */
export async function verdict(p: Pipeline, batchId: string, timeoutMs = 30_000) {
  return until(
    async () => {
      const batch = await p.deps.store.getBatch(batchId);
      if (batch?.state !== "done") return undefined;
      const build = await p.deps.store.getBuildForBatch(batchId);
      return { batch, build: build as NonNullable<typeof build> };
    },
    `batch ${batchId} to get a verdict`,
    timeoutMs,
    50,
  );
}
