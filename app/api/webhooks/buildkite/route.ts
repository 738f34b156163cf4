// Buildkite's build webhooks (Settings → Notification Services → Webhook),
// checked against BUILDKITE_WEBHOOK_TOKEN and published into `buildsignal`.
// The plain token, or a signature's form and freshness, is checked before a
// byte of the body is read, and the body is read with a ceiling: an
// unauthenticated, replayed or oversized call costs nothing. A signature's
// HMAC needs the body, so it is checked once the body is in.
import { checkBuildkiteHeaders } from "@/server/buildrunner/buildkite-webhook";
import { getEnv } from "@/server/env";
import { readCappedBody } from "@/server/http/body";
import { getWebPipeline } from "@/server/pipeline/web";
import { handleBuildkiteWebhook, MAX_WEBHOOK_BYTES } from "@/server/pipeline/webhook";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const env = getEnv();
  const token = env.BUILDKITE_WEBHOOK_TOKEN;
  if (!token) {
    await request.body?.cancel().catch(() => {});
    return Response.json(
      { error: "the Buildkite webhook is not configured (BUILDKITE_WEBHOOK_TOKEN)" },
      { status: 404 },
    );
  }
  const auth = {
    signatureMaxAgeMs: env.SLUICE_BUILDKITE_REPLAY_MS,
    requireSignature: env.BUILDKITE_WEBHOOK_SIGNED_ONLY,
  };
  const checked = checkBuildkiteHeaders(request.headers, token, auth);
  if (!checked.ok) {
    await request.body?.cancel().catch(() => {});
    return Response.json({ error: checked.error }, { status: checked.status });
  }
  const body = await readCappedBody(request, MAX_WEBHOOK_BYTES);
  if (!body.ok) return body.response;
  const outcome = await handleBuildkiteWebhook(getWebPipeline().deps, request.headers, body.text, token, auth);
  return Response.json(outcome.body, { status: outcome.status });
}
