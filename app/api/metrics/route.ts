// Prometheus scrape endpoint of the web server: its own counters (and the
// in-process worker's, when it runs one) plus gauges read from the database.
// With SLUICE_METRICS_TOKEN set, only a caller with that bearer token gets them.
import { getEnv } from "@/server/env";
import { bearerToken, secretMatches } from "@/server/http/secret";
import { getMetrics } from "@/server/metrics";
import { getWebPipeline } from "@/server/pipeline/web";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET(request: Request) {
  const token = getEnv().SLUICE_METRICS_TOKEN;
  if (token && !secretMatches(bearerToken(request.headers), token)) {
    return Response.json(
      { error: "a bearer token is required (SLUICE_METRICS_TOKEN)" },
      { status: 401, headers: { "www-authenticate": 'Bearer realm="sluice-metrics"' } },
    );
  }
  // Opening the web pipeline registers the database as the gauges' source.
  getWebPipeline();
  const { registry } = getMetrics();
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "private, no-store" },
  });
}
