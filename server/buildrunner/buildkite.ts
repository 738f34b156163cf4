// The Buildkite runner: each queue maps to a Buildkite pipeline, and a Sluice
// build is a Buildkite build created through the REST API (v2). Buildkite
// holds all the state, so any worker can answer status or cancel for any
// build. The BuildID names organization, pipeline and build number because
// Buildkite's per-build endpoints take the number, not the build's UUID.
//
// The changes travel as environment variables (SLUICE_QUEUE, and SLUICE_BASE
// and SLUICE_HEAD as JSON); the pipeline's steps apply base then head.
import { z } from "zod";
import { describeFetchFailure } from "./fetch-failure";
import {
  type BuildID,
  type BuildMetadata,
  type BuildRunner,
  type BuildStatus,
  type Change,
  IDEMPOTENCY_KEY,
  isTerminal,
  UnknownBuildError,
  WAITING_FOR,
} from "./types";

/** The build meta-data key that carries IDEMPOTENCY_KEY's value (searchable with ?meta_data[...]). */
export const BUILDKITE_IDEMPOTENCY_META_KEY = "sluice-idempotency-key";

export interface BuildkitePipelineConfig {
  /** Pipeline slug. */
  pipeline: string;
  branch: string;
  /** Ref, SHA or tag to build. Default "HEAD". */
  commit?: string;
}

export interface BuildkiteRunnerOptions {
  /** Default https://api.buildkite.com. */
  apiBaseUrl?: string;
  /** API access token with the read_builds and write_builds scopes. */
  token: string;
  /** Organization slug. */
  organization: string;
  /** Queue name → pipeline. */
  pipelines: Record<string, BuildkitePipelineConfig>;
  fetch?: typeof fetch;
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
}

export type BuildkiteBuildRef = { organization: string; pipeline: string; number: number };

const ID_PREFIX = "buildkite:";
const SLUG = "[A-Za-z0-9][A-Za-z0-9_.-]*";
const SLUG_PATTERN = new RegExp(`^${SLUG}$`);
// At most 15 digits keeps the number a safe integer.
const ID_PATTERN = new RegExp(`^${ID_PREFIX}(${SLUG})/(${SLUG})/([1-9][0-9]{0,14})$`);
const SNIPPET_CHARS = 200;
const MESSAGE_CHARS = 500;

export function formatBuildkiteBuildId(ref: BuildkiteBuildRef): string {
  return `${ID_PREFIX}${ref.organization}/${ref.pipeline}/${ref.number}`;
}

export function parseBuildkiteBuildId(id: string): BuildkiteBuildRef {
  const [, organization, pipeline, number] = ID_PATTERN.exec(id) ?? [];
  if (!organization || !pipeline || !number) {
    throw new Error(`malformed Buildkite build id "${id}": expected buildkite:{organization}/{pipeline}/{number}`);
  }
  return { organization, pipeline, number: Number(number) };
}

// Buildkite's build states → ours. "blocked" is what notifications and the
// state filter call a build waiting on a block step: it has not finished.
const STATES = new Map<string, BuildStatus>([
  ["creating", "accepted"],
  ["scheduled", "accepted"],
  ["waiting", "accepted"],
  ["running", "running"],
  ["failing", "running"],
  ["canceling", "running"],
  ["blocked", "running"],
  ["passed", "succeeded"],
  ["failed", "failed"],
  ["waiting_failed", "failed"],
  ["canceled", "cancelled"],
  ["skipped", "cancelled"],
  ["not_run", "cancelled"],
]);

export const BUILDKITE_STATES: readonly string[] = [...STATES.keys()];

export function mapBuildkiteState(state: string, blocked = false): BuildStatus {
  const status = STATES.get(state);
  if (!status) throw new Error(`unknown Buildkite build state "${state}"`);
  // The REST API reports a build stopped at a block step with the state of the
  // steps before it (e.g. passed) and blocked: true. The steps after the block
  // have not run, so it has not succeeded yet.
  return blocked && status === "succeeded" ? "running" : status;
}

const buildSchema = z.object({
  id: z.string(),
  number: z.number().int().positive(),
  state: z.string(),
  web_url: z.string().nullish(),
  blocked: z.boolean().nullish(),
  cancel_reason: z.string().nullish(),
  meta_data: z.record(z.string(), z.unknown()).nullish(),
});
type Build = z.infer<typeof buildSchema>;

type Reply = { status: number; ok: boolean; text: string };

export class BuildkiteRunner implements BuildRunner {
  readonly kind = "buildkite";
  // A private field, so the token never shows up when the runner is inspected or logged.
  readonly #token: string;
  private readonly cfg: Omit<BuildkiteRunnerOptions, "token">;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor({ token, ...cfg }: BuildkiteRunnerOptions) {
    if (!token) throw new Error("Buildkite runner: no API token is configured");
    assertSlug("organization", cfg.organization);
    for (const [queue, p] of Object.entries(cfg.pipelines)) assertSlug(`pipeline for queue "${queue}"`, p.pipeline);
    this.#token = token;
    this.cfg = cfg;
    this.baseUrl = (cfg.apiBaseUrl ?? "https://api.buildkite.com").replace(/\/+$/, "");
    this.fetchFn = cfg.fetch ?? fetch;
    this.timeoutMs = cfg.timeoutMs ?? 10_000;
  }

  async trigger(queue: string, base: Change[], head: Change[], metadata: BuildMetadata = {}): Promise<BuildID> {
    const target = this.cfg.pipelines[queue];
    if (!target) throw new Error(`no Buildkite pipeline is configured for queue "${queue}"`);
    const ref = { organization: this.cfg.organization, pipeline: target.pipeline };
    const key = metadata[IDEMPOTENCY_KEY];
    if (key) {
      const existing = await this.findByKey(ref, key);
      if (existing) return { id: formatBuildkiteBuildId({ ...ref, number: existing.number }) };
    }
    const body = {
      commit: target.commit ?? "HEAD",
      branch: target.branch,
      message: buildMessage(queue, head),
      env: { SLUICE_QUEUE: queue, SLUICE_BASE: JSON.stringify(base), SLUICE_HEAD: JSON.stringify(head) },
      meta_data: key ? { ...metadata, [BUILDKITE_IDEMPOTENCY_META_KEY]: key } : { ...metadata },
    };
    const what = `create build in ${ref.organization}/${ref.pipeline}`;
    const reply = await this.call("POST", buildsPath(ref), what, body);
    if (!reply.ok) throw this.httpError(what, reply);
    const build = this.parse(buildSchema, reply, what);
    return { id: formatBuildkiteBuildId({ ...ref, number: build.number }) };
  }

  async status(id: BuildID): Promise<{ status: BuildStatus; metadata: BuildMetadata }> {
    const build = await this.load(id.id);
    return { status: mapBuildkiteState(build.state, isBlocked(build)), metadata: metadataOf(build) };
  }

  async cancel(id: BuildID): Promise<void> {
    const ref = parseBuildkiteBuildId(id.id);
    const what = `cancel build ${id.id}`;
    const reply = await this.call("PUT", `${buildPath(ref)}/cancel`, what);
    if (reply.ok) return;
    if (reply.status === 404) throw new UnknownBuildError(id.id);
    if (reply.status !== 422) throw this.httpError(what, reply);
    // Buildkite cancels only scheduled, running and failing builds and answers
    // 422 for the rest. Finished is the contract's no-op; a build it will not
    // cancel yet (e.g. stopped at a block step) must not pass silently.
    const build = await this.load(id.id);
    const status = mapBuildkiteState(build.state, isBlocked(build));
    if (isTerminal(status) || build.state === "canceling") return;
    const blocked = isBlocked(build) ? ", blocked" : "";
    throw this.httpError(`${what} (Buildkite state ${build.state}${blocked})`, reply);
  }

  /** The oldest build carrying this idempotency key, so racing retries converge on one build. */
  private async findByKey(ref: Omit<BuildkiteBuildRef, "number">, key: string): Promise<Build | undefined> {
    const query = new URLSearchParams({ [`meta_data[${BUILDKITE_IDEMPOTENCY_META_KEY}]`]: key });
    const what = `list builds in ${ref.organization}/${ref.pipeline}`;
    const reply = await this.call("GET", `${buildsPath(ref)}?${query}`, what);
    if (!reply.ok) throw this.httpError(what, reply);
    const builds = this.parse(z.array(buildSchema), reply, what);
    // Checked here too: a server that ignored the filter must not hand us someone else's build.
    const matching = builds.filter((b) => !b.meta_data || b.meta_data[BUILDKITE_IDEMPOTENCY_META_KEY] === key);
    return matching.sort((a, b) => a.number - b.number)[0];
  }

  private async load(id: string): Promise<Build> {
    const ref = parseBuildkiteBuildId(id);
    const what = `get build ${id}`;
    const reply = await this.call("GET", buildPath(ref), what);
    if (reply.status === 404) throw new UnknownBuildError(id);
    if (!reply.ok) throw this.httpError(what, reply);
    return this.parse(buildSchema, reply, what);
  }

  private async call(method: string, path: string, what: string, body?: unknown): Promise<Reply> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.#token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      // One signal for the request and the body: a server that stalls mid-body also times out.
      const res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return { status: res.status, ok: res.ok, text: await res.text() };
    } catch (err) {
      throw new Error(`Buildkite ${what}: ${this.redact(describeFetchFailure(err, this.timeoutMs))}`);
    }
  }

  private parse<S extends z.ZodType>(schema: S, reply: Reply, what: string): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(reply.text);
    } catch {
      throw new Error(
        `Buildkite ${what}: HTTP ${reply.status} with a body that is not JSON: ${this.snippet(reply.text)}`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      throw new Error(`Buildkite ${what}: unexpected response (${issues})`);
    }
    return parsed.data;
  }

  private httpError(what: string, reply: Reply): Error {
    const hint = reply.status === 401 || reply.status === 403 ? " (check the API token and its scopes)" : "";
    const body = reply.text.trim() ? `: ${this.snippet(reply.text)}` : "";
    return new Error(`Buildkite ${what}: HTTP ${reply.status}${hint}${body}`);
  }

  private snippet(text: string): string {
    const flat = this.redact(text).replace(/\s+/g, " ").trim();
    return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
  }

  // A proxy or server may echo the Authorization header back in an error body.
  private redact(text: string): string {
    return text.split(this.#token).join("[redacted]");
  }
}

function assertSlug(what: string, slug: string) {
  if (!SLUG_PATTERN.test(slug)) throw new Error(`Buildkite runner: ${what} "${slug}" is not a valid slug`);
}

function buildsPath(ref: Omit<BuildkiteBuildRef, "number">): string {
  return `/v2/organizations/${encodeURIComponent(ref.organization)}/pipelines/${encodeURIComponent(ref.pipeline)}/builds`;
}

function buildPath(ref: BuildkiteBuildRef): string {
  return `${buildsPath(ref)}/${ref.number}`;
}

function buildMessage(queue: string, head: Change[]): string {
  const uris = head.flatMap((c) => c.uris);
  const text = `Sluice ${queue}: ${uris.join(" ") || "(no changes)"}`;
  return text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS - 1)}…` : text;
}

function isBlocked(build: Build): boolean {
  return build.state === "blocked" || build.blocked === true;
}

function metadataOf(build: Build): BuildMetadata {
  const m: BuildMetadata = {
    runner: "buildkite",
    buildkiteState: build.state,
    number: String(build.number),
    id: build.id,
  };
  if (build.web_url) m.buildUrl = build.web_url;
  if (build.cancel_reason) m.cancel_reason = build.cancel_reason;
  if (isBlocked(build)) {
    m.blocked = "true";
    // A failed or cancelled build may still say blocked; it waits for nothing.
    const mapped = STATES.get(build.state);
    if (mapped !== "failed" && mapped !== "cancelled") m[WAITING_FOR] = "a block step";
  }
  return m;
}
