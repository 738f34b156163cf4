// Metrics after real traffic: the pipeline's worker builds a batch with the
// noop runner, then the registry shows the queue's counters, the build's
// status transitions and the gauges read from the database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@/server/log";
import { createMetrics } from "@/server/metrics";
import { openPipeline, type Pipeline, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { freshDatabase, type TestDatabase } from "./helpers/db";
import { until } from "./helpers/wait";

let db: TestDatabase;
let p: Pipeline;
const metrics = createMetrics();

beforeAll(async () => {
  db = await freshDatabase("metrics");
  p = openPipeline(
    db.url,
    {
      runners: { default: { kind: "noop" }, queues: {} },
      pollDelayMs: { accepted: 300, running: 300 },
      buildDir: "/tmp",
    },
    silentLogger,
    metrics,
  );
});
afterAll(async () => {
  await p.close();
  await db.drop();
});

const value = (text: string, line: string) => {
  const hit = text.split("\n").find((l) => l.startsWith(line));
  return hit === undefined ? undefined : Number(hit.slice(line.length).trim());
};

describe("metrics", () => {
  it("exposes queue counters, build transitions and database gauges after traffic", async () => {
    const worker = startPipelineWorker(p.deps, { pollIntervalMs: 20 });
    const batchId = await requestBuild(p.deps, {
      queue: "q",
      base: [],
      head: [{ uris: ["github://a/b/pull/1/c"] }],
      requester: "t",
    });
    await until(async () => (await p.deps.store.getBatch(batchId))?.state === "done", "the batch verdict");
    await worker.stop();
    const text = await metrics.registry.metrics();
    expect(value(text, 'sluice_messages_published_total{topic="build"}')).toBe(1);
    expect(value(text, 'sluice_messages_acked_total{topic="build",group="pipeline"}')).toBe(1);
    expect(value(text, 'sluice_messages_delivered_total{topic="buildsignal",group="pipeline"}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(value(text, 'sluice_build_status_transitions_total{runner="noop",status="accepted"}')).toBe(1);
    expect(value(text, 'sluice_build_status_transitions_total{runner="noop",status="succeeded"}')).toBe(1);
    expect(value(text, 'sluice_builds{status="succeeded"}')).toBe(1);
    expect(value(text, 'sluice_topic_partitions{topic="build"}')).toBe(1);
    expect(value(text, 'sluice_group_lag_messages{topic="build",group="pipeline"}')).toBe(0);
    expect(text).toMatch(/sluice_delivery_latency_seconds_count\{topic="build",group="pipeline"\} 1/);
    expect(text).toMatch(/sluice_polls_total\{topic="build",group="pipeline"\} \d+/);
    // No partition key (here the batch id) or message id ever becomes a label.
    expect(text).not.toContain(batchId);
  });
});
