// The pipeline worker inside the web server (single-node installs). GET: is it
// running. POST: start it (idempotent). SLUICE_IN_PROCESS_WORKER=true starts it
// with the server (instrumentation.ts).
import { embeddedWorkerState, startEmbeddedWorker } from "@/server/pipeline/embedded";
import { refuseUnlessOperator } from "@/server/trpc/session";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json(embeddedWorkerState());
}

export async function POST(request: Request) {
  // Like any change: same-origin JSON from a signed-in operator.
  const refused = await refuseUnlessOperator(request);
  if (refused) return refused;
  const { started } = startEmbeddedWorker();
  return Response.json({ ...embeddedWorkerState(), started });
}
