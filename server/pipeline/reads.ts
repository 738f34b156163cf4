// What the console reads about builds: the list, one build with its batch and
// history, a batch waiting for its build, and the configured queues. Plain
// data (numbers, strings, parsed JSON), ready to cross the wire.
import { type BuildMetadata, type BuildStatus, isTerminal, UnknownBuildError } from "@/server/buildrunner/types";
import { queueSettings } from "./config";
import type { PipelineDeps } from "./deps";
import { UnknownBatchError } from "./errors";
import type { Batch, BuildCursor } from "./store";

export function listBuilds(
  d: PipelineDeps,
  input: { status?: BuildStatus; queue?: string; cursor?: BuildCursor | null; limit: number },
) {
  return d.store.listBuilds(input);
}

function parseMetadata(text: string): BuildMetadata {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
    // Runners promise string values; anything else is shown as its JSON.
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
  } catch {
    return {};
  }
}

function batchView(batch: Batch) {
  return {
    id: batch.id,
    queue: batch.queue,
    base: batch.base,
    head: batch.head,
    metadata: batch.metadata,
    requester: batch.requester,
    state: batch.state,
    verdict: batch.verdict,
    createdAt: batch.createdAt,
    updatedAt: batch.updatedAt,
  };
}

export type BatchView = ReturnType<typeof batchView>;

/** A build, the batch it verifies, its status history (oldest first) and the runner's last metadata. */
export async function getBuildDetail(d: PipelineDeps, buildId: string) {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new UnknownBuildError(buildId);
  const [batch, history, now] = await Promise.all([
    d.store.getBatch(build.batchId),
    d.store.history(build.id),
    d.store.now(),
  ]);
  const status = build.status;
  return {
    build: {
      id: build.id,
      batchId: build.batchId,
      queue: build.queue,
      runner: build.runner,
      status,
      terminal: isTerminal(status),
      metadata: parseMetadata(build.metadata),
      statusCalls: build.statusCalls,
      createdAt: build.createdAt,
      updatedAt: build.updatedAt,
      finishedAt: build.finishedAt,
      // Unfinished: the time so far, on the database's clock (like every stored time).
      duration: Math.max(0, (build.finishedAt ?? now) - build.createdAt),
    },
    batch: batch ? batchView(batch) : null,
    history: history.map((h) => ({ id: h.id, status: h.status, at: h.at })),
  };
}

export type BuildDetail = Awaited<ReturnType<typeof getBuildDetail>>;

/** A batch and the id of its build, once a worker has triggered it (null until then). */
export async function getBatchProgress(d: PipelineDeps, batchId: string) {
  const batch = await d.store.getBatch(batchId);
  if (!batch) throw new UnknownBatchError(batchId);
  const cap = queueSettings(d.config, batch.queue).maxConcurrentBuilds;
  const [build, slots] = await Promise.all([
    d.store.getBuildForBatch(batchId),
    // Only a capped queue has slots; only a batch not yet built waits for one.
    cap !== undefined && (batch.state === "pending" || batch.state === "waiting")
      ? d.store.slotState(batch)
      : Promise.resolve(undefined),
  ]);
  return {
    batch: batchView(batch),
    buildId: build?.id ?? null,
    /** A capped queue's slots: in use, the cap, how many batches wait, and this one's place (1: next). */
    slots:
      cap === undefined || !slots
        ? null
        : {
            cap,
            inUse: slots.building,
            waiting: slots.waiting,
            position: batch.state === "waiting" ? slots.ahead + 1 : null,
          },
  };
}

/** Batches waiting for a build slot on capped queues, oldest first, with their place in their queue's line. */
export async function listWaitingBatches(d: PipelineDeps, limit: number) {
  const rows = await d.store.waitingBatches(limit);
  return rows.map((r) => ({ ...r, cap: queueSettings(d.config, r.queue).maxConcurrentBuilds ?? null }));
}

/** The queues named in the runner configuration, and the runner of every other queue (null: none). */
export function configuredQueues(d: PipelineDeps) {
  const { runners } = d.config;
  return {
    queues: Object.entries(runners.queues)
      .map(([name, rc]) => ({ name, kind: rc.kind }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    defaultKind: runners.default?.kind ?? null,
  };
}
