// What commands run against: the queue and the pipeline, opened on first use
// (help and argument errors need no database), and closed once at the end.
import os from "node:os";
import { getEnv } from "../server/env";
import { silentLogger } from "../server/log";
import { openPipeline, type Pipeline, pipelineConfigFromEnv } from "../server/pipeline";
import { createQueue, type Queue } from "../server/queue";

export interface Ctx {
  queue(): Queue;
  pipeline(): Pipeline;
  /** Who is acting, for requester / createdBy fields: cli:<os user>. */
  actor: string;
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
  return {
    actor: `cli:${osUser()}`,
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
