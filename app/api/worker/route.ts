// The pipeline worker inside the web server (single-node installs). GET: is it
// running (for a signed-in user, or a monitor with SLUICE_METRICS_TOKEN).
// POST: start it (idempotent). SLUICE_IN_PROCESS_WORKER=true starts it with
// the server (instrumentation.ts).
import { getEnv } from "@/server/env";
import { bearerToken, secretMatches } from "@/server/http/secret";
import { embeddedWorkerState, startEmbeddedWorker } from "@/server/pipeline/embedded";
import { refuseUnlessOperator, requestIdentity } from "@/server/trpc/session";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const monitor = secretMatches(bearerToken(request.headers), getEnv().SLUICE_METRICS_TOKEN);
  if (!monitor && !(await requestIdentity(request.headers)).user) {
    return Response.json({ error: "sign in first" }, { status: 401 });
  }
  return Response.json(embeddedWorkerState());
}

export async function POST(request: Request) {
  // Like any change: same-origin JSON from a signed-in operator.
  const refused = await refuseUnlessOperator(request);
  if (refused) return refused;
  const { started } = startEmbeddedWorker();
  return Response.json({ ...embeddedWorkerState(), started });
}
