// What every procedure gets. Sign-in (operators and viewers) will add the user here.
import type { Logger } from "../log";
import type { PipelineDeps } from "../pipeline/deps";
import { getWebPipeline } from "../pipeline/web";

export interface Context {
  /** Where the call came from: "http" (the route handler) or "server" (a server component). */
  source: "http" | "server";
  /**
   * The pipeline (batches, builds, runners, queue) the procedures act on. A
   * function so that nothing opens a pool before a procedure needs one (next
   * build renders nothing dynamic); tests hand in a pipeline of their own.
   */
  pipeline: () => PipelineDeps;
  /** Where procedure failures are logged (server/trpc/errors.ts). Default: JSON lines on stderr. */
  log?: Logger;
}

export async function createContext(
  source: Context["source"],
  overrides: Partial<Omit<Context, "source">> = {},
): Promise<Context> {
  return { source, pipeline: () => getWebPipeline().deps, ...overrides };
}
