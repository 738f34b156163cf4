// What the queue console's procedures act on: the context's pipeline (its
// queue, its store, its logger; the web server's by default, a test's own in
// tests). One accessor, so the routers never open pools of their own.
import { hostname } from "node:os";
import type { Logger } from "@/server/log";
import type { PipelineStore } from "@/server/pipeline/store";
import type { Queue } from "@/server/queue";
import type { Context } from "./context";

export interface ConsoleDeps {
  queue: Queue;
  store: PipelineStore;
  log: Logger;
  /** Names this process as the runner of the DLQ jobs it starts. */
  runnerId: string;
}

export function consoleDeps(ctx: Context): ConsoleDeps {
  const { queue, store, log } = ctx.pipeline();
  return { queue, store, log, runnerId: `web-${hostname()}-${process.pid}` };
}
