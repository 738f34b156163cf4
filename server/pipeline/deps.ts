import type { Logger } from "@/server/log";
import type { SluiceMetrics } from "@/server/metrics";
import type { Queue } from "@/server/queue";
import type { PipelineConfig } from "./config";
import type { RunnerRegistry } from "./runners";
import type { PipelineStore } from "./store";

/** What the controllers and actions need; built once per process. */
export interface PipelineDeps {
  queue: Queue;
  store: PipelineStore;
  runners: RunnerRegistry;
  config: PipelineConfig;
  log: Logger;
  /** This process's metrics, when it exposes them. */
  metrics?: SluiceMetrics;
}
