// Callers of the console's router as a given user, for tests that call procedures in-process.
import type { SessionUser } from "@/server/auth/roles";
import type { PipelineDeps } from "@/server/pipeline/deps";
import type { Context } from "@/server/trpc/context";

export const OPERATOR: SessionUser = { id: 1, username: "test-operator", role: "operator" };
export const VIEWER: SessionUser = { id: 2, username: "test-viewer", role: "viewer" };

/** A context for `appRouter.createCaller`: an operator by default, as most tests act. */
export function contextAs(
  pipeline: () => PipelineDeps,
  user: SessionUser | null = OPERATOR,
  source: Context["source"] = "server",
): Context {
  return { source, pipeline, user, address: "192.0.2.1" };
}
