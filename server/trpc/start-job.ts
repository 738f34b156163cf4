import { errorMessage } from "@/server/log";
import type { Job } from "@/server/queue";
import type { ConsoleDeps } from "./console-deps";

/**
 * Runs a DLQ job in this process without holding up the request: the
 * browser polls the job's progress instead. If this process dies, a worker's
 * maintenance pass takes the job over (it stops heartbeating).
 */
export function startJob(deps: ConsoleDeps, job: Job): void {
  if (job.state !== "running") return;
  deps.queue.admin.runJob(job.id, deps.runnerId).then(
    (done) => deps.log.info("dlq job finished", { jobId: job.id, state: done?.state, processed: done?.processed }),
    (err) => deps.log.error("dlq job failed", { jobId: job.id, kind: job.kind, reason: errorMessage(err) }),
  );
}
