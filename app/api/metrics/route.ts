// Prometheus scrape endpoint of the web server: its own counters (and the
// in-process worker's, when it runs one) plus gauges read from the database.
import { getMetrics } from "@/server/metrics";
import { getWebPipeline } from "@/server/pipeline/web";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function GET() {
  // Opening the web pipeline registers the database as the gauges' source.
  getWebPipeline();
  const { registry } = getMetrics();
  return new Response(await registry.metrics(), {
    headers: { "content-type": registry.contentType, "cache-control": "no-store" },
  });
}
