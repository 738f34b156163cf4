// GitHub's webhooks (repository or organization Settings → Webhooks, content
// type application/json, the "Workflow runs" event), checked against
// GITHUB_WEBHOOK_SECRET and published into `buildsignal`. A call without a
// signature is refused before a byte of its body is read; a signed one is
// read with a ceiling, and nothing in it is looked at until its HMAC matches.
import { SIGNATURE_HEADER } from "@/server/buildrunner/github/webhook";
import { getEnv } from "@/server/env";
import { readCappedBody } from "@/server/http/body";
import { handleGitHubWebhook } from "@/server/pipeline/github-webhook";
import { getWebPipeline } from "@/server/pipeline/web";
import { MAX_WEBHOOK_BYTES } from "@/server/pipeline/webhook";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request: Request) {
  const secret = getEnv().GITHUB_WEBHOOK_SECRET;
  if (!secret) {
    await request.body?.cancel().catch(() => {});
    return Response.json({ error: "the GitHub webhook is not configured (GITHUB_WEBHOOK_SECRET)" }, { status: 404 });
  }
  if (!/^sha256=[0-9a-f]{64}$/i.test(request.headers.get(SIGNATURE_HEADER)?.trim() ?? "")) {
    await request.body?.cancel().catch(() => {});
    return Response.json({ error: "missing or malformed X-Hub-Signature-256" }, { status: 401 });
  }
  const body = await readCappedBody(request, MAX_WEBHOOK_BYTES);
  if (!body.ok) return body.response;
  const outcome = await handleGitHubWebhook(getWebPipeline().deps, request.headers, body.text, secret);
  return Response.json(outcome.body, { status: outcome.status });
}
