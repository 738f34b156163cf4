// Liveness of the web server only (no database round trip): for load
// balancers and for the e2e suite's wait. `health.ping` over tRPC checks the database.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ ok: true });
}
