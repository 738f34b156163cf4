// GitHub's workflow_run webhooks into `buildsignal`, the same path as a poll
// (see webhook.ts for Buildkite's): a run Sluice started is pushed, anything
// else is acknowledged and ignored.
import { parseGitHubWebhook } from "@/server/buildrunner/github/webhook";
import type { PipelineDeps } from "./deps";
import { publishPush } from "./signals";
import { MAX_WEBHOOK_BYTES, type WebhookOutcome } from "./webhook";

export async function handleGitHubWebhook(
  d: PipelineDeps,
  headers: Headers,
  body: string,
  secret: string | undefined,
): Promise<WebhookOutcome> {
  if (!secret) return { status: 404, body: { error: "the GitHub webhook is not configured (GITHUB_WEBHOOK_SECRET)" } };
  if (Buffer.byteLength(body) > MAX_WEBHOOK_BYTES) return { status: 413, body: { error: "the body is too large" } };
  const parsed = parseGitHubWebhook(headers, body, secret);
  if (!parsed.ok) return { status: parsed.status, body: { error: parsed.error } };
  if (parsed.kind === "ignored") return { status: 202, body: { ignored: `event ${parsed.event}` } };
  const build = await d.store.getBuild(parsed.buildId);
  // A run Sluice did not start (the workflow has other triggers): nothing to do.
  if (!build) return { status: 202, body: { ignored: "not a build of this Sluice", buildId: parsed.buildId } };
  await publishPush(d, build.id, parsed.occasion);
  d.log.info("webhook accepted", { buildId: build.id, event: `workflow_run.${parsed.action}` });
  return { status: 202, body: { accepted: true, buildId: build.id } };
}
