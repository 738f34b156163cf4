// Readiness: 200 when the database answers and is migrated, 503 otherwise.
// No authentication and no detail beyond which check failed.
import { getPool } from "@/server/db";
import { checkReadiness } from "@/server/readiness";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET() {
  const r = await checkReadiness(getPool());
  return Response.json(r, { status: r.ready ? 200 : 503, headers: { "cache-control": "private, no-store" } });
}
