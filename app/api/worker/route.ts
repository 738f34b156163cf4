// The pipeline worker inside the web server (single-node installs). GET: is it
// running. POST: start it (idempotent). SLUICE_IN_PROCESS_WORKER=true starts it
// with the server (instrumentation.ts).
import { embeddedWorkerState, startEmbeddedWorker } from "@/server/pipeline/embedded";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json(embeddedWorkerState());
}

export function POST(request: Request) {
  // Same-origin JSON only: a form on another site cannot start it.
  if (!request.headers.get("content-type")?.startsWith("application/json")) {
    return Response.json({ error: "send Content-Type: application/json" }, { status: 415 });
  }
  const { started } = startEmbeddedWorker();
  return Response.json({ ...embeddedWorkerState(), started });
}
