// The poison case through the real pipeline worker (server/pipeline/consumer.ts):
// malformed payloads and a payload naming no batch, published into a batch's
// partition of the `build` topic ahead of its real build request. They must be
// dead-lettered with their reason on the first attempt (the framework rejects
// what it cannot decode, and a non-retryable controller error), the worker must
// stay up, and the batch behind them must still get its verdict.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { missed, until } from "@/faults/wait";
import { silentLogger } from "@/server/log";
import { openPipeline, startPipelineWorker } from "@/server/pipeline";
import type { PipelineConfig } from "@/server/pipeline/config";
import { publishBuild } from "@/server/pipeline/signals";
import { PIPELINE_GROUP, TOPICS } from "@/server/pipeline/topics";
import { allDeadLetters } from "./dlq";

const BATCHES = 3;

const poisons = (i: number) => [
  { id: `bad-json-${i}`, payload: "{not json", reason: /^malformed payload: not JSON \(/ },
  { id: `bad-empty-${i}`, payload: '{"id":""}', reason: /^malformed payload: id / },
  { id: `bad-extra-${i}`, payload: '{"id":"x","extra":1}', reason: /^malformed payload: / },
  { id: `bad-array-${i}`, payload: "[1,2]", reason: /^malformed payload: / },
  {
    id: `unknown-${i}`,
    payload: JSON.stringify({ id: `no-such-batch-${i}` }),
    reason: /^unknown batch no-such-batch-/,
  },
];

export interface PipelinePoisonResult {
  published: number;
  delivered: number;
  lost: number;
  poison: number;
  problems: string[];
}

export async function runPipelinePoison(databaseUrl: string, maxAttempts: number): Promise<PipelinePoisonResult> {
  const problems: string[] = [];
  const buildDir = await mkdtemp(path.join(tmpdir(), "sluice-poison-"));
  const config: PipelineConfig = {
    runners: { default: { kind: "noop" }, queues: {} },
    pollDelayMs: { accepted: 100, running: 100 },
    buildDir,
  };
  const pipeline = openPipeline(databaseUrl, config, silentLogger);
  const d = pipeline.deps;
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on("unhandledRejection", onCrash);
  const worker = startPipelineWorker(d, { name: "poison-worker", pollIntervalMs: 20, maxAttempts });
  let stopped = false;
  try {
    const expected = new Map<string, RegExp>();
    const batchIds: string[] = [];
    for (let i = 0; i < BATCHES; i++) {
      const batchId = await d.store.createBatch({
        queue: "poison",
        base: [],
        head: [{ uris: [`github://faults/poison/pull/${i}/head`] }],
        metadata: {},
        requester: "faults",
      });
      batchIds.push(batchId);
      for (const p of poisons(i)) {
        await d.queue.publisher.publish(TOPICS.build, { id: p.id, partitionKey: batchId, payload: p.payload });
        expected.set(p.id, p.reason);
      }
      await publishBuild(d, batchId);
    }
    const dlqTopic = `${TOPICS.build}_dlq`;
    const timedOut = await missed(
      until(
        async () => {
          for (const id of batchIds) if ((await d.store.getBatch(id))?.state !== "done") return false;
          return (await d.queue.inspect.countDlq({ topic: dlqTopic })) >= expected.size;
        },
        "the batches behind the poison and the poison's DLQ rows",
        30_000,
        50,
      ),
    );
    if (timedOut) problems.push(`pipeline: ${timedOut}`);

    let verdicts = 0;
    for (const id of batchIds) {
      const b = await d.store.getBatch(id);
      if (b?.verdict === "succeeded") verdicts++;
      else problems.push(`pipeline: batch ${id} behind the poison ended ${b?.state}/${b?.verdict}`);
    }
    let deadLettered = 0;
    const rows = await allDeadLetters(d.queue, dlqTopic);
    for (const [id, reason] of expected) {
      const found = rows.filter((r) => r.id === id);
      const row = found[0];
      if (found.length !== 1 || !row) {
        problems.push(`pipeline: poison ${id} is in ${dlqTopic} ${found.length} times, not once`);
        continue;
      }
      const ok = reason.test(row.reason) && row.failureCount === 1 && row.originalGroup === PIPELINE_GROUP;
      if (ok) deadLettered++;
      else
        problems.push(
          `pipeline: poison ${id} dead-lettered by ${row.originalGroup} after ${row.failureCount} attempts with "${row.reason}"`,
        );
    }
    await worker.stop();
    stopped = true;
    if (crashes.length > 0) problems.push(`pipeline: the worker had ${crashes.length} unhandled rejections`);
    return {
      published: expected.size + batchIds.length,
      delivered: deadLettered + verdicts,
      lost: expected.size - deadLettered + (batchIds.length - verdicts),
      poison: expected.size,
      problems,
    };
  } finally {
    if (!stopped) await worker.stop().catch(() => {});
    process.off("unhandledRejection", onCrash);
    await pipeline.close();
    await rm(buildDir, { recursive: true, force: true });
  }
}
