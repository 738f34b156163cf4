// What commands run against: the queue and the pipeline, opened on first use
// (help and argument errors need no database), and closed once at the end.
import os from "node:os";
import { type AuditAction, auditJob, auditWithin, writeAuditTx } from "@/server/auth/audit";
import type { Actor } from "@/server/auth/roles";
import { getEnv } from "@/server/env";
import { silentLogger } from "@/server/log";
import { openPipeline, type Pipeline, pipelineConfigFromEnv } from "@/server/pipeline";
import { createQueue, type Queue } from "@/server/queue";

export interface Ctx {
  queue(): Queue;
  pipeline(): Pipeline;
  /** Who is acting, for requester / createdBy fields: cli:<os user>. */
  actor: string;
  /** The same, as the audit log records it: the CLI acts with database access, as an operator would. */
  auditActor: Actor;
  /** The queue library's in-transaction hook that writes this action's audit row. */
  audit(action: AuditAction, target: unknown): ReturnType<typeof auditWithin>;
  /** A requeue-all or purge job's audit row, kept by the job itself (see auditJob). */
  auditJob(action: AuditAction, filter: object): ReturnType<typeof auditJob>;
  /** The same for pipeline actions (a Drizzle transaction); the count is 1. */
  auditTx(action: AuditAction, target: unknown): (tx: Parameters<typeof writeAuditTx>[0]) => Promise<void>;
  close(): Promise<void>;
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

export function createCtx(): Ctx {
  let queue: Queue | undefined;
  let pipeline: Pipeline | undefined;
  const actor = `cli:${osUser()}`;
  const auditActor: Actor = { name: actor, role: "operator", address: `cli@${os.hostname()}`.slice(0, 64) };
  return {
    actor,
    auditActor,
    audit: (action, target) => auditWithin(auditActor, action, target),
    auditJob: (action, filter) => auditJob(auditActor, action, filter),
    auditTx: (action, target) => (tx) => writeAuditTx(tx, auditActor, { action, target, count: 1 }),
    queue() {
      // The pipeline has a queue of its own: reuse it rather than open a second pool.
      queue ??= pipeline?.deps.queue ?? createQueue({ url: getEnv().DATABASE_URL, connectionLimit: 4 });
      return queue;
    },
    pipeline() {
      if (!pipeline) {
        const env = getEnv();
        pipeline = openPipeline(env.DATABASE_URL, pipelineConfigFromEnv(env), silentLogger);
      }
      return pipeline;
    },
    async close() {
      if (queue && queue !== pipeline?.deps.queue) await queue.close();
      await pipeline?.close();
    },
  };
}
