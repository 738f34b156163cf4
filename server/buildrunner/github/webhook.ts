// GitHub's webhooks: the signature check (X-Hub-Signature-256, an HMAC-SHA256
// of the raw body with the webhook's secret, compared in constant time) and
// the workflow_run event read into the BuildID the github runner uses. The
// payload's status is only a hint: the pipeline still asks the runner, so a
// webhook can hurry a build's record along but never decide it.
import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { formatRunId, parseRunId } from "./ids";

export const SIGNATURE_HEADER = "x-hub-signature-256";

export type GitHubWebhookResult =
  | { ok: true; kind: "run"; buildId: string; action: string; occasion: string }
  | { ok: true; kind: "ignored"; event: string }
  | { ok: false; status: 400 | 401; error: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

/** Whether `signature` (the header's value) is the body's HMAC-SHA256 under `secret`. */
export function signatureMatches(
  signature: string | null | undefined,
  body: string,
  secret: string | undefined,
): boolean {
  // An unconfigured secret accepts nothing.
  if (!secret || !signature) return false;
  const m = SIGNATURE.exec(signature.trim().toLowerCase());
  if (!m?.[1]) return false;
  const given = Buffer.from(m[1], "hex");
  const expected = createHmac("sha256", secret).update(body, "utf8").digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const payloadSchema = z.object({
  action: z.string().min(1),
  workflow_run: z.object({
    id: z.number().int().positive(),
    status: z.string().nullish(),
    conclusion: z.string().nullish(),
    run_attempt: z.number().int().nullish(),
  }),
  repository: z.object({ full_name: z.string().min(3) }),
});

/**
 * Checks the signature, then reads a workflow_run event. Any other event
 * (ping, push ...) is acknowledged and ignored, so one webhook may carry more
 * than Sluice needs.
 */
export function parseGitHubWebhook(headers: Headers, body: string, secret: string | undefined): GitHubWebhookResult {
  if (!signatureMatches(headers.get(SIGNATURE_HEADER), body, secret)) {
    return { ok: false, status: 401, error: "missing or wrong X-Hub-Signature-256" };
  }
  const event = headers.get("x-github-event") ?? "";
  if (event !== "workflow_run") return { ok: true, kind: "ignored", event: event || "(none)" };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, error: "the body is not JSON" };
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    return { ok: false, status: 400, error: `not a workflow_run event: ${issues}` };
  }
  const { action, workflow_run: run, repository } = parsed.data;
  const [owner = "", repo = "", ...rest] = repository.full_name.split("/");
  let buildId: string;
  try {
    if (rest.length > 0) throw new Error(`repository "${repository.full_name}" is not owner/name`);
    buildId = formatRunId(parseRunId(formatRunId({ owner, repo, runId: String(run.id) })));
  } catch (err) {
    return { ok: false, status: 400, error: (err as Error).message };
  }
  // GitHub redelivers an event it thinks failed: the same run, action and attempt are one push.
  const occasion = `workflow_run:${action}:${run.status ?? ""}:${run.conclusion ?? ""}:${run.run_attempt ?? 1}`;
  return { ok: true, kind: "run", buildId, action, occasion };
}
