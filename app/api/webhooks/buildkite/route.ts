// Buildkite's build webhooks (Settings → Notification Services → Webhook),
// checked against BUILDKITE_WEBHOOK_TOKEN and published into `buildsignal`.
// The token is checked before a byte of the body is read, and the body is
// read with a ceiling: an unauthenticated or oversized call costs nothing.
import { buildkiteTokenMatches } from "@/server/buildrunner/buildkite-webhook";
import { getEnv } from "@/server/env";
import { readCappedBody } from "@/server/http/body";
import { getWebPipeline } from "@/server/pipeline/web";
import { handleBuildkiteWebhook, MAX_WEBHOOK_BYTES } from "@/server/pipeline/webhook";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const token = getEnv().BUILDKITE_WEBHOOK_TOKEN;
  if (!token) {
    await request.body?.cancel().catch(() => {});
    return Response.json(
      { error: "the Buildkite webhook is not configured (BUILDKITE_WEBHOOK_TOKEN)" },
      { status: 404 },
    );
  }
  if (!buildkiteTokenMatches(request.headers, token)) {
    await request.body?.cancel().catch(() => {});
    return Response.json({ error: "missing or wrong X-Buildkite-Token" }, { status: 401 });
  }
  const body = await readCappedBody(request, MAX_WEBHOOK_BYTES);
  if (!body.ok) return body.response;
  const outcome = await handleBuildkiteWebhook(getWebPipeline().deps, request.headers, body.text, token);
  return Response.json(outcome.body, { status: outcome.status });
}
