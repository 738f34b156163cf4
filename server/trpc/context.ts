// What every procedure gets: the pipeline it acts on, and who is calling.
import type { SessionUser } from "@/server/auth/roles";
import type { Logger } from "@/server/log";
import type { PipelineDeps } from "@/server/pipeline/deps";
import { getWebPipeline } from "@/server/pipeline/web";

export interface Context {
  /** Where the call came from: "http" (the route handler) or "server" (a server component). */
  source: "http" | "server";
  /**
   * The pipeline (batches, builds, runners, queue) the procedures act on. A
   * function so that nothing opens a pool before a procedure needs one (next
   * build renders nothing dynamic); tests hand in a pipeline of their own.
   */
  pipeline: () => PipelineDeps;
  /** The signed-in user (server/trpc/session.ts reads it from the session cookie), or null. */
  user: SessionUser | null;
  /** The caller's network address, for the audit log. */
  address: string;
  /** Where procedure failures are logged (server/trpc/errors.ts). Default: JSON lines on stderr. */
  log?: Logger;
}

export async function createContext(
  source: Context["source"],
  overrides: Partial<Omit<Context, "source">> = {},
): Promise<Context> {
  return { source, pipeline: () => getWebPipeline().deps, user: null, address: "unknown", ...overrides };
}
