// Buildkite's build webhooks (build.scheduled, build.running, build.failing,
// build.finished) name a build; this turns one into the BuildID the Buildkite
// runner uses, so a webhook route can publish it to `buildsignal` just as a
// poll would. The payload's state is only a hint: the consumer still asks the
// runner for the status, so the webhook cannot make a build pass.
//
// Buildkite sends the webhook's token one of two ways: as it is, in
// X-Buildkite-Token, or as the key of an HMAC-SHA256 of "<timestamp>.<body>"
// in X-Buildkite-Signature ("timestamp=<unix s>,signature=<hex>"). The
// signature never puts the token on the wire, and its timestamp bounds how
// long a captured call can be replayed.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { formatBuildkiteBuildId, parseBuildkiteBuildId } from "./buildkite";

/** Fetch's Headers, or Node's IncomingHttpHeaders (lower-case names). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export type BuildkiteWebhookResult =
  | { ok: true; buildId: string; event: string; state: string | undefined }
  | { ok: false; status: 400 | 401; error: string };

const TOKEN_HEADER = "x-buildkite-token";
export const SIGNATURE_HEADER = "x-buildkite-signature";
/** The replay window's default: a signature more than this far from now is refused, ms. */
export const DEFAULT_SIGNATURE_MAX_AGE_MS = 5 * 60_000;

export interface BuildkiteAuthOptions {
  /** How far the signature's timestamp may be from now, either way, ms. Default DEFAULT_SIGNATURE_MAX_AGE_MS. */
  signatureMaxAgeMs?: number;
  /** Refuse the plain token: only a signature will do. */
  requireSignature?: boolean;
  /** The clock, for tests. */
  nowMs?: () => number;
}

export type HeaderCheck = { ok: true; signature?: SignatureHeader } | { ok: false; status: 401; error: string };

export interface SignatureHeader {
  timestamp: number;
  digest: Buffer;
}

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
  auth: BuildkiteAuthOptions = {},
): BuildkiteWebhookResult {
  // Authenticate before reading the body, so an unauthenticated caller learns nothing about it.
  const checked = checkBuildkiteHeaders(headers, expectedToken, auth);
  if (!checked.ok) return checked;
  if (checked.signature) {
    const raw = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body ?? null);
    if (!signatureMatches(checked.signature, raw, expectedToken)) {
      return { ok: false, status: 401, error: "wrong X-Buildkite-Signature" };
    }
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

/**
 * What can be checked before the body is read. A signature header, when
 * there is one, is what counts (a plain token beside it is ignored): it must
 * be well formed and fresh here, and its HMAC is checked once the body is in
 * (signatureMatches). Without one, the plain token must match, unless
 * `requireSignature`.
 */
export function checkBuildkiteHeaders(
  headers: WebhookHeaders,
  expectedToken: string,
  auth: BuildkiteAuthOptions = {},
): HeaderCheck {
  if (!expectedToken) return { ok: false, status: 401, error: "the Buildkite webhook has no token configured" };
  const signed = headerValue(headers, SIGNATURE_HEADER);
  // A repeated signature header reads as undefined: it must not fall through to the token.
  if (signed !== undefined || headerPresent(headers, SIGNATURE_HEADER)) {
    const signature = signed === undefined ? undefined : readSignatureHeader(signed);
    if (!signature) {
      return {
        ok: false,
        status: 401,
        error: "malformed X-Buildkite-Signature (expected timestamp=<unix seconds>,signature=<hex>)",
      };
    }
    const maxAge = auth.signatureMaxAgeMs ?? DEFAULT_SIGNATURE_MAX_AGE_MS;
    const skew = (auth.nowMs ?? Date.now)() - signature.timestamp * 1000;
    if (Math.abs(skew) > maxAge) {
      const when = skew > 0 ? `${Math.round(skew / 1000)} s ago` : `${Math.round(-skew / 1000)} s in the future`;
      return {
        ok: false,
        status: 401,
        error: `stale X-Buildkite-Signature: signed ${when}, outside the ${Math.round(maxAge / 1000)} s window`,
      };
    }
    return { ok: true, signature };
  }
  if (auth.requireSignature) return { ok: false, status: 401, error: "missing X-Buildkite-Signature" };
  if (!tokenMatches(headerValue(headers, TOKEN_HEADER), expectedToken)) {
    return { ok: false, status: 401, error: "missing or wrong X-Buildkite-Token" };
  }
  return { ok: true };
}

/** "timestamp=<unix seconds>,signature=<64 hex>", in either order; undefined when it is not that. */
export function readSignatureHeader(value: string): SignatureHeader | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) return undefined;
    const key = part.slice(0, eq).trim().toLowerCase();
    if (fields.has(key)) return undefined;
    fields.set(key, part.slice(eq + 1).trim());
  }
  const ts = fields.get("timestamp");
  const sig = fields.get("signature")?.toLowerCase();
  if (fields.size !== 2 || !ts || !sig || !/^[0-9]{1,12}$/.test(ts) || !/^[0-9a-f]{64}$/.test(sig)) return undefined;
  return { timestamp: Number(ts), digest: Buffer.from(sig, "hex") };
}

/** Whether `signature` is the HMAC-SHA256 of "<timestamp>.<body>" under `secret`, compared in constant time. */
export function signatureMatches(signature: SignatureHeader, body: string | Uint8Array, secret: string): boolean {
  if (!secret) return false;
  const expected = createHmac("sha256", secret)
    .update(`${signature.timestamp}.`, "utf8")
    .update(typeof body === "string" ? Buffer.from(body, "utf8") : body)
    .digest();
  return signature.digest.length === expected.length && timingSafeEqual(signature.digest, expected);
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

function headerPresent(headers: WebhookHeaders, name: string): boolean {
  if (headers instanceof Headers) return headers.has(name);
  return Object.entries(headers).some(([key, value]) => key.toLowerCase() === name && value !== undefined);
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
