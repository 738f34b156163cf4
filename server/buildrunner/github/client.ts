// GitHub's REST API as the github runner uses it: one request function with a
// timeout, credentials from a GitHubAuth, secrets scrubbed from every error,
// rate limits turned into a GitHubRateLimitError that carries when to try
// again, and 5xx answers to reads retried with backoff. Writes are never
// retried here: a 502 to a dispatch may still have started a run, so the
// runner decides (it searches before it dispatches again).
import type { z } from "zod";
import { describeFetchFailure } from "@/server/buildrunner/fetch-failure";

export const DEFAULT_API_URL = "https://api.github.com";
const API_VERSION = "2022-11-28";
const SNIPPET_CHARS = 200;
/** GitHub's primary limit resets hourly; anything longer is a server's mistake. */
const MAX_RATE_LIMIT_WAIT_MS = 3_660_000;
/** Without a header, GitHub's docs say to wait at least a minute. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
/** Our clock and GitHub's may differ by a little: wait this much past the reset. */
const RESET_MARGIN_MS = 1_000;

/** Where credentials come from: a fixed token, or a GitHub App's installation tokens. */
export interface GitHubAuth {
  /** The Authorization header for an API call. */
  authorization(): Promise<string>;
  /** GitHub refused the credentials: forget any cached token. */
  refused(): void;
  /** Every secret this source holds or has issued, to scrub from messages. */
  secrets(): string[];
}

export type Reply = { status: number; ok: boolean; headers: Headers; text: string };

export class GitHubApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = "GitHubApiError";
  }
}

/**
 * A 403 or 429 that GitHub means as "slow down". `retryAfterMs` is when the
 * call may succeed again; the pipeline's consumer retries after that long
 * instead of backing off blindly (and never dead-letters for it).
 */
export class GitHubRateLimitError extends GitHubApiError {
  constructor(
    message: string,
    status: number,
    readonly retryAfterMs: number,
  ) {
    super(message, status);
    this.name = "GitHubRateLimitError";
  }
}

export interface GitHubClientOptions {
  /** Default https://api.github.com; for GitHub Enterprise Server, https://HOST/api/v3. */
  apiUrl?: string;
  auth: GitHubAuth;
  fetch?: typeof fetch;
  /** Per request, ms. Default 10,000. */
  timeoutMs?: number;
  /** Extra tries of a read that got a 5xx or no answer. Default 2. */
  readRetries?: number;
  /** Delay before extra try n (1-based), ms. Default 500 ms, 1 s, 2 s ... */
  retryDelayMs?: (n: number) => number;
}

export class GitHubClient {
  readonly apiUrl: string;
  private readonly auth: GitHubAuth;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly readRetries: number;
  private readonly retryDelayMs: (n: number) => number;

  constructor(opts: GitHubClientOptions) {
    this.apiUrl = (opts.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, "");
    this.auth = opts.auth;
    this.fetchFn = opts.fetch ?? fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.readRetries = opts.readRetries ?? 2;
    this.retryDelayMs = opts.retryDelayMs ?? ((n) => 500 * 2 ** (n - 1));
  }

  /**
   * One API call. `path` is relative to the API URL, or an absolute URL on
   * the API's own origin (a pagination link); any other origin is refused, so
   * credentials never leave for a host a response named.
   */
  async request(method: string, path: string, what: string, body?: unknown): Promise<Reply> {
    const url = this.resolve(path, what);
    const retries = method === "GET" ? this.readRetries : 0;
    for (let attempt = 0; ; attempt++) {
      let reply: Reply;
      try {
        reply = await this.send(method, url, what, body);
      } catch (err) {
        if (attempt < retries) {
          await delay(this.retryDelayMs(attempt + 1));
          continue;
        }
        throw err;
      }
      if (reply.status === 401 && attempt === 0) {
        // An installation token may have been revoked early: one more try with a fresh one.
        this.auth.refused();
        reply = await this.send(method, url, what, body);
      }
      const wait = rateLimitWaitMs(reply);
      if (wait !== undefined) {
        throw new GitHubRateLimitError(
          `GitHub ${what}: rate limited (HTTP ${reply.status}), retry in ${Math.ceil(wait / 1000)} s${this.bodyNote(reply)}`,
          reply.status,
          wait,
        );
      }
      if (reply.status >= 500 && attempt < retries) {
        await delay(this.retryDelayMs(attempt + 1));
        continue;
      }
      return reply;
    }
  }

  parse<S extends z.ZodType>(schema: S, reply: Reply, what: string): z.output<S> {
    let json: unknown;
    try {
      json = JSON.parse(reply.text);
    } catch {
      throw new GitHubApiError(
        `GitHub ${what}: HTTP ${reply.status} with a body that is not JSON: ${this.snippet(reply.text)}`,
        reply.status,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
      throw new GitHubApiError(`GitHub ${what}: unexpected response (${issues})`, reply.status);
    }
    return parsed.data;
  }

  httpError(what: string, reply: Reply): GitHubApiError {
    const hint =
      reply.status === 401 || reply.status === 403
        ? " (check the token or the App's installation and its Actions permission)"
        : "";
    return new GitHubApiError(`GitHub ${what}: HTTP ${reply.status}${hint}${this.bodyNote(reply)}`, reply.status);
  }

  /** GitHub's own error message from a reply, scrubbed (for decisions such as "not a permitted key"). */
  message(reply: Reply): string {
    try {
      const json = JSON.parse(reply.text) as { message?: unknown };
      return typeof json.message === "string" ? this.redact(json.message) : "";
    } catch {
      return "";
    }
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.auth.secrets()) if (secret) out = out.split(secret).join("[redacted]");
    return out;
  }

  private resolve(path: string, what: string): string {
    if (!/^https?:\/\//i.test(path)) return `${this.apiUrl}${path}`;
    if (new URL(path).origin !== new URL(this.apiUrl).origin) {
      throw new GitHubApiError(`GitHub ${what}: refusing to follow a link to another host`, undefined);
    }
    return path;
  }

  private async send(method: string, url: string, what: string, body: unknown): Promise<Reply> {
    try {
      const headers: Record<string, string> = {
        Authorization: await this.auth.authorization(),
        Accept: "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "sluice",
      };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      // One signal for the request and the body: a server that stalls mid-body also times out.
      const res = await this.fetchFn(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
      return { status: res.status, ok: res.ok, headers: res.headers, text: await res.text() };
    } catch (err) {
      if (err instanceof GitHubApiError) throw err;
      throw new GitHubApiError(`GitHub ${what}: ${this.redact(describeFetchFailure(err, this.timeoutMs))}`, undefined);
    }
  }

  private bodyNote(reply: Reply): string {
    return reply.text.trim() ? `: ${this.snippet(reply.text)}` : "";
  }

  private snippet(text: string): string {
    const flat = this.redact(text).replace(/\s+/g, " ").trim();
    return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
  }
}

/**
 * How long GitHub asks us to wait, or undefined when the reply is not a rate
 * limit (a 403 for missing permissions is not). Per GitHub's docs:
 * retry-after first, then x-ratelimit-reset when nothing remains, else a
 * minute for a 429 or a 403 whose message says "rate limit".
 */
export function rateLimitWaitMs(
  reply: Pick<Reply, "status" | "headers" | "text">,
  nowMs = Date.now(),
): number | undefined {
  if (reply.status !== 403 && reply.status !== 429) return undefined;
  const clamp = (ms: number) => Math.min(MAX_RATE_LIMIT_WAIT_MS, Math.max(RESET_MARGIN_MS, Math.ceil(ms)));
  const retryAfter = reply.headers.get("retry-after")?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return clamp(Number(retryAfter) * 1000);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return clamp(at - serverNow(reply.headers, nowMs));
  }
  const reset = reply.headers.get("x-ratelimit-reset")?.trim();
  if (reply.headers.get("x-ratelimit-remaining")?.trim() === "0" && reset && /^\d+$/.test(reset)) {
    // Measured on GitHub's clock (its Date header) when it sent one, so our clock's skew does not matter.
    return clamp(Number(reset) * 1000 - serverNow(reply.headers, nowMs) + RESET_MARGIN_MS);
  }
  if (reply.status === 429 || /rate limit/i.test(reply.text)) return DEFAULT_RATE_LIMIT_WAIT_MS;
  return undefined;
}

function serverNow(headers: Headers, nowMs: number): number {
  const date = Date.parse(headers.get("date") ?? "");
  return Number.isNaN(date) ? nowMs : date;
}

/** The rel="next" URL of a Link header, if any. */
export function nextLink(headers: Headers): string | undefined {
  for (const part of (headers.get("link") ?? "").split(",")) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
