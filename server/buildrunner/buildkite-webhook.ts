// Buildkite's build webhooks (build.scheduled, build.running, build.failing,
// build.finished) name a build; this turns one into the BuildID the Buildkite
// runner uses, so a webhook route can publish it to `buildsignal` just as a
// poll would. The payload's state is only a hint: the consumer still asks the
// runner for the status, so the webhook cannot make a build pass.
import { timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { formatBuildkiteBuildId, parseBuildkiteBuildId } from "./buildkite";

/** Fetch's Headers, or Node's IncomingHttpHeaders (lower-case names). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export type BuildkiteWebhookResult =
  | { ok: true; buildId: string; event: string; state: string | undefined }
  | { ok: false; status: 400 | 401; error: string };

const TOKEN_HEADER = "x-buildkite-token";

const slugged = z.object({
  slug: z.string().min(1).optional(),
  url: z.string().optional(),
  organization: z.object({ slug: z.string().min(1).optional() }).nullish(),
});

const payloadSchema = z.object({
  event: z.string().startsWith("build.", { message: 'not a build event (expected "build.*")' }),
  build: z.object({
    number: z.number().int().positive(),
    state: z.string().optional(),
    url: z.string().optional(),
    pipeline: slugged.nullish(),
  }),
  pipeline: slugged.nullish(),
});
type Payload = z.infer<typeof payloadSchema>;

/**
 * Checks a Buildkite webhook's X-Buildkite-Token and reads the build it is
 * about. The organization comes from the payload when it names one, else from
 * `fallbackOrganization` (the runner's configured organization).
 */
export function parseBuildkiteWebhook(
  headers: WebhookHeaders,
  body: string | Uint8Array | unknown,
  expectedToken: string,
  fallbackOrganization?: string,
): BuildkiteWebhookResult {
  // Authenticate before reading the body, so an unauthenticated caller learns nothing about it.
  if (!tokenMatches(headerValue(headers, TOKEN_HEADER), expectedToken)) {
    return { ok: false, status: 401, error: "missing or wrong X-Buildkite-Token" };
  }
  const json = readJson(body);
  if (json === undefined) return { ok: false, status: 400, error: "the body is not JSON" };
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    return { ok: false, status: 400, error: `not a Buildkite build webhook: ${issues}` };
  }
  return toResult(parsed.data, fallbackOrganization);
}

function toResult(payload: Payload, fallbackOrganization: string | undefined): BuildkiteWebhookResult {
  const { build, pipeline } = payload;
  const fromBuildUrl = refFromApiUrl(build.url);
  const pipelineSlug = pipeline?.slug ?? build.pipeline?.slug ?? fromBuildUrl?.pipeline;
  const organization =
    pipeline?.organization?.slug ??
    build.pipeline?.organization?.slug ??
    fromBuildUrl?.organization ??
    refFromApiUrl(pipeline?.url)?.organization ??
    fallbackOrganization;
  if (!pipelineSlug) return { ok: false, status: 400, error: "the webhook names no pipeline slug" };
  if (!organization) return { ok: false, status: 400, error: "the webhook names no organization" };
  const buildId = formatBuildkiteBuildId({ organization, pipeline: pipelineSlug, number: build.number });
  try {
    parseBuildkiteBuildId(buildId);
  } catch (err) {
    return { ok: false, status: 400, error: (err as Error).message };
  }
  return { ok: true, buildId, event: payload.event, state: build.state };
}

/** Whether the request carries the right X-Buildkite-Token: checked before its body is read. */
export function buildkiteTokenMatches(headers: WebhookHeaders, expectedToken: string): boolean {
  return tokenMatches(headerValue(headers, TOKEN_HEADER), expectedToken);
}

function tokenMatches(given: string | undefined, expected: string): boolean {
  // An unconfigured (empty) token must not accept an empty header.
  if (!given || !expected) return false;
  const a = Buffer.from(given, "utf8");
  const b = Buffer.from(expected, "utf8");
  // timingSafeEqual needs equal lengths; only the length leaks, never the content.
  return a.length === b.length && timingSafeEqual(a, b);
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    // A repeated token header is ambiguous: refuse it rather than pick one.
    if (key.toLowerCase() === name) return typeof value === "string" ? value : undefined;
  }
  return undefined;
}

function readJson(body: unknown): unknown {
  if (typeof body !== "string" && !(body instanceof Uint8Array)) return body ?? undefined;
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Organization and pipeline from an API URL such as …/v2/organizations/{org}/pipelines/{pipeline}/builds/{n}. */
function refFromApiUrl(url: string | undefined): { organization: string; pipeline: string } | undefined {
  if (!url) return undefined;
  try {
    const [, organization, pipeline] = /\/organizations\/([^/]+)\/pipelines\/([^/]+)/.exec(new URL(url).pathname) ?? [];
    if (!organization || !pipeline) return undefined;
    return { organization: decodeURIComponent(organization), pipeline: decodeURIComponent(pipeline) };
  } catch {
    // Not a URL, or a malformed %-escape: the payload's other fields may still name the build.
    return undefined;
  }
}
