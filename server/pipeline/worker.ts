// A worker: the three pipeline consumers, the command runner's supervision of
// this host's builds, and periodic maintenance. `npm run worker` runs one per
// process (start several for scale); the web server can run one in-process.
import { hostname } from "node:os";
import { deleteExpiredSessions } from "@/server/auth/sessions";
import { deleteOldSigninFailures } from "@/server/auth/signin";
import { errorMessage } from "@/server/log";
import { queueSettings } from "./config";
import { type RunningConsumer, runConsumer } from "./consumer";
import { buildController, buildsignalController, handOverFreeSlots, speculateController } from "./controllers";
import type { PipelineDeps } from "./deps";
import { PollWriter } from "./poll-writer";
import { publishPoll } from "./signals";
import { idPayload, PIPELINE_GROUP, TOPICS } from "./topics";

export interface WorkerOptions {
  /** Shown in the console's worker list. Default host:pid. */
  name?: string;
  /** Deliveries handled at once per topic, buildsignal aside. Default 8. */
  concurrency?: number;
  /**
   * buildsignal deliveries (polls and pushes) handled at once. Default 32:
   * a poll mostly waits (on its runner, on the commit it shares with the
   * worker's other polls), and the more there are, the more each shared
   * commit writes at once (poll-writer.ts).
   */
  pollConcurrency?: number;
  /** Queue poll interval, ms. Default 100. */
  pollIntervalMs?: number;
  /** Nack delay after a retryable failure on attempt n, ms. Default 1 s doubling to 60 s. */
  retryBackoffMs?: (attempt: number) => number;
  /** Attempts before a message is dead-lettered. Default 5. */
  maxAttempts?: number;
  /** Queue visibility timeout, ms. Default 60,000. */
  visibilityTimeoutMs?: number;
  /** Queue lease duration and renewal interval, ms. Defaults 30,000 and 10,000. */
  leaseDurationMs?: number;
  leaseRenewalIntervalMs?: number;
  /** How often maintenance runs (GC, lost-message sweeps), ms. Default 30,000. */
  maintenanceIntervalMs?: number;
}

export interface PipelineWorker {
  readonly name: string;
  stop(): Promise<void>;
}

/** A build no one has polled for this long has lost its poll message (e.g. dead-lettered). */
const STALLED_AFTER_MS = 5 * 60_000;

export function startPipelineWorker(d: PipelineDeps, opts: WorkerOptions = {}): PipelineWorker {
  const name = opts.name ?? `${hostname()}:${process.pid}`;
  const log = d.log.child({ worker: name });
  const common = {
    subscriberName: name,
    consumerGroup: PIPELINE_GROUP,
    concurrency: opts.concurrency,
    backoffMs: opts.retryBackoffMs,
    log,
    subscription: {
      pollIntervalMs: opts.pollIntervalMs ?? 100,
      maxAttempts: opts.maxAttempts ?? 5,
      visibilityTimeoutMs: opts.visibilityTimeoutMs,
      leaseDurationMs: opts.leaseDurationMs,
      leaseRenewalIntervalMs: opts.leaseRenewalIntervalMs,
    },
  };
  const polls = new PollWriter(d);
  const consumers: RunningConsumer[] = [
    runConsumer(
      d.queue,
      { topic: TOPICS.build, schema: idPayload, handle: (p, delivery) => buildController(d, p, delivery) },
      common,
    ),
    runConsumer(
      d.queue,
      {
        topic: TOPICS.buildsignal,
        schema: idPayload,
        handle: (p, delivery) => buildsignalController(d, p, delivery, { backoffMs: opts.retryBackoffMs, polls }),
      },
      { ...common, concurrency: opts.pollConcurrency ?? 32 },
    ),
    runConsumer(
      d.queue,
      { topic: TOPICS.speculate, schema: idPayload, handle: (p) => speculateController(d, p) },
      common,
    ),
  ];
  d.runners.start();

  let maintaining: Promise<void> | undefined;
  const timer = setInterval(() => {
    maintaining ??= maintain(d)
      .catch((err) => log.warn("maintenance failed", { reason: errorMessage(err) }))
      .finally(() => {
        maintaining = undefined;
      });
  }, opts.maintenanceIntervalMs ?? 30_000);
  timer.unref();
  log.info("worker started", { topics: Object.values(TOPICS).join(",") });

  return {
    name,
    async stop() {
      clearInterval(timer);
      // In-flight handlers finish; what was fetched but not handed out goes back; leases are released.
      await Promise.all(consumers.map((c) => c.stop()));
      await maintaining;
      await d.runners.stop();
      log.info("worker stopped");
    },
  };
}

/** Recovers what a crash between two steps could leave behind, and collects garbage. */
async function maintain(d: PipelineDeps) {
  for (const build of await d.store.stalledBuilds(STALLED_AFTER_MS)) {
    // A queue may poll less often than STALLED_AFTER_MS: such a build is only stalled once its own delay has passed too.
    const { poll } = queueSettings(d.config, build.queue);
    if (build.idleMs < STALLED_AFTER_MS + Math.max(poll.accepted, poll.running, poll.waiting)) continue;
    // A revival of the live generation: if its poll is still queued, one of the two stops at the generation check.
    await publishPoll(d, build.id, build.pollGeneration, 0, { occasion: "revive" });
  }
  const started = await handOverFreeSlots(d);
  if (started > 0) d.log.warn("the sweep handed free build slots to waiting batches", { started });
  await d.queue.admin.collectGarbage();
  // Expired sessions and sign-in failures no rate-limit window counts any more.
  await deleteExpiredSessions(d.store.db);
  await deleteOldSigninFailures(d.store.db);
  // DLQ requeue/purge jobs whose runner (a web server, another worker) stopped: carry them on.
  for (const id of await d.queue.admin.claimableJobs()) {
    void d.queue.admin
      .runJob(id, `worker-${hostname()}-${process.pid}`)
      .catch((err) => d.log.warn("job failed", { jobId: id, reason: errorMessage(err) }));
  }
}
