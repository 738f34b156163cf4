// Buildkite's build webhooks (Settings → Notification Services → Webhook),
// checked against BUILDKITE_WEBHOOK_TOKEN and published into `buildsignal`.
import { getEnv } from "@/server/env";
import { getWebPipeline } from "@/server/pipeline/web";
import { handleBuildkiteWebhook, MAX_WEBHOOK_BYTES } from "@/server/pipeline/webhook";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > MAX_WEBHOOK_BYTES) return Response.json({ error: "the body is too large" }, { status: 413 });
  const outcome = await handleBuildkiteWebhook(
    getWebPipeline().deps,
    request.headers,
    await request.text(),
    getEnv().BUILDKITE_WEBHOOK_TOKEN,
  );
  return Response.json(outcome.body, { status: outcome.status });
}
