// A runner's status webhook enters the pipeline through `buildsignal`, the
// same path as a poll: the consumer asks the runner for the status, so a
// webhook can hurry a build's record along but never decide it.
import {
  type BuildkiteAuthOptions,
  parseBuildkiteWebhook,
  type WebhookHeaders,
} from "@/server/buildrunner/buildkite-webhook";
import type { PipelineDeps } from "./deps";
import { publishPush } from "./signals";

export const MAX_WEBHOOK_BYTES = 1024 * 1024;

export interface WebhookOutcome {
  status: number;
  body: { accepted?: true; ignored?: string; error?: string; buildId?: string };
}

export async function handleBuildkiteWebhook(
  d: PipelineDeps,
  headers: WebhookHeaders,
  body: string,
  expectedToken: string | undefined,
  auth: BuildkiteAuthOptions = {},
): Promise<WebhookOutcome> {
  if (!expectedToken)
    return { status: 404, body: { error: "the Buildkite webhook is not configured (BUILDKITE_WEBHOOK_TOKEN)" } };
  if (Buffer.byteLength(body) > MAX_WEBHOOK_BYTES) return { status: 413, body: { error: "the body is too large" } };
  const parsed = parseBuildkiteWebhook(headers, body, expectedToken, undefined, auth);
  if (!parsed.ok) return { status: parsed.status, body: { error: parsed.error } };
  const build = await d.store.getBuild(parsed.buildId);
  // A build Sluice did not trigger (the pipeline is shared with other triggers): nothing to do.
  if (!build) return { status: 202, body: { ignored: "not a build of this Sluice", buildId: parsed.buildId } };
  await publishPush(d, build.id, `webhook:${parsed.event}:${parsed.state ?? ""}`);
  d.log.info("webhook accepted", { buildId: build.id, event: parsed.event });
  return { status: 202, body: { accepted: true, buildId: build.id } };
}
