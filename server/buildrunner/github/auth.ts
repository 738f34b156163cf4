// Credentials for GitHub's API. A fine-grained token is used as it is. A
// GitHub App signs a JWT (RS256, node:crypto) with its private key and trades
// it for an installation token, which lasts an hour; the token is cached and
// replaced a while before it expires, one refresh at a time. Secrets live in
// private fields, so inspecting or logging the objects never shows them.
import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import { z } from "zod";
import { DEFAULT_API_URL, GitHubApiError, type GitHubAuth, GitHubClient } from "./client";

export class TokenAuth implements GitHubAuth {
  readonly #token: string;

  constructor(token: string) {
    if (!token) throw new Error("GitHub runner: no token is configured (GITHUB_TOKEN)");
    this.#token = token;
  }

  async authorization() {
    return `Bearer ${this.#token}`;
  }

  refused() {}

  secrets() {
    return [this.#token];
  }
}

export interface GitHubAppOptions {
  appId: string;
  /** PEM (PKCS#1 or PKCS#8), as GitHub hands it out. */
  privateKey: string;
  /** Unset: looked up from the repository (GET /repos/{owner}/{repo}/installation). */
  installationId?: string;
  owner: string;
  repo: string;
  apiUrl?: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Replace the installation token when it has less than this left, ms. Default 5 minutes. */
  refreshMarginMs?: number;
  now?: () => number;
}

const tokenSchema = z.object({ token: z.string().min(1), expires_at: z.string() });
const installationSchema = z.object({ id: z.number().int().positive() });
/** GitHub refuses a JWT that lives longer than 10 minutes. */
const JWT_LIFETIME_S = 9 * 60;
/** iat is backdated, as GitHub recommends, for clocks a little ahead of GitHub's. */
const JWT_BACKDATE_S = 60;

export class GitHubAppAuth implements GitHubAuth {
  readonly #key: KeyObject;
  readonly #pem: string;
  #jwt: { value: string; expiresAtS: number } | undefined;
  #token: { value: string; expiresAtMs: number } | undefined;
  /** Tokens issued to this process, kept to scrub them from messages after they were replaced. */
  readonly #issued: string[] = [];
  #refreshing: Promise<string> | undefined;
  #installationId: string | undefined;
  private readonly opts: Omit<GitHubAppOptions, "privateKey">;
  private readonly now: () => number;

  constructor({ privateKey, ...opts }: GitHubAppOptions) {
    if (!/^[1-9][0-9]{0,19}$/.test(opts.appId)) throw new Error("GitHub App: the app id must be a number");
    this.#pem = privateKey;
    try {
      this.#key = createPrivateKey(privateKey);
    } catch {
      // The parser's message may quote the key: say only what is wrong.
      throw new Error("GitHub App: the private key is not a PEM private key");
    }
    this.opts = opts;
    this.#installationId = opts.installationId;
    this.now = opts.now ?? Date.now;
  }

  async authorization() {
    const cached = this.#token;
    if (cached && cached.expiresAtMs - this.now() > (this.opts.refreshMarginMs ?? 5 * 60_000)) {
      return `Bearer ${cached.value}`;
    }
    // Concurrent callers share one refresh instead of each minting a token.
    this.#refreshing ??= this.refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return `Bearer ${await this.#refreshing}`;
  }

  refused() {
    this.#token = undefined;
  }

  secrets() {
    return [this.#pem, ...(this.#jwt ? [this.#jwt.value] : []), ...this.#issued];
  }

  /** A JWT that authenticates as the App itself (reused while it has a minute left). */
  appJwt(): string {
    const nowS = Math.floor(this.now() / 1000);
    if (this.#jwt && this.#jwt.expiresAtS - nowS > 60) return this.#jwt.value;
    const expiresAtS = nowS + JWT_LIFETIME_S;
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
    const payload = base64url(JSON.stringify({ iat: nowS - JWT_BACKDATE_S, exp: expiresAtS, iss: this.opts.appId }));
    const signature = sign("sha256", Buffer.from(`${header}.${payload}`), this.#key).toString("base64url");
    this.#jwt = { value: `${header}.${payload}.${signature}`, expiresAtS };
    return this.#jwt.value;
  }

  private async refresh(): Promise<string> {
    const app = new GitHubClient({
      apiUrl: this.opts.apiUrl ?? DEFAULT_API_URL,
      fetch: this.opts.fetch,
      timeoutMs: this.opts.timeoutMs,
      auth: {
        authorization: async () => `Bearer ${this.appJwt()}`,
        refused: () => {
          this.#jwt = undefined;
        },
        secrets: () => this.secrets(),
      },
    });
    const installationId = this.#installationId ?? (await this.lookUpInstallation(app));
    const what = `create an installation token for App ${this.opts.appId}`;
    const reply = await app.request("POST", `/app/installations/${installationId}/access_tokens`, what);
    if (reply.status === 404) {
      throw new GitHubApiError(`GitHub ${what}: installation ${installationId} not found for this App`, 404);
    }
    if (reply.status !== 201 && reply.status !== 200) throw app.httpError(what, reply);
    const parsed = app.parse(tokenSchema, reply, what);
    const expiresAtMs = Date.parse(parsed.expires_at);
    if (Number.isNaN(expiresAtMs)) throw new GitHubApiError(`GitHub ${what}: expires_at is not a date`, reply.status);
    this.#issued.push(parsed.token);
    // Keep the last few: a message about a call made with an older token may still quote it.
    if (this.#issued.length > 8) this.#issued.shift();
    this.#token = { value: parsed.token, expiresAtMs };
    return parsed.token;
  }

  private async lookUpInstallation(app: GitHubClient): Promise<string> {
    const { owner, repo } = this.opts;
    const what = `find App ${this.opts.appId}'s installation on ${owner}/${repo}`;
    const reply = await app.request("GET", `/repos/${owner}/${repo}/installation`, what);
    if (reply.status === 404) {
      throw new GitHubApiError(`GitHub ${what}: the App is not installed on ${owner}/${repo}`, 404);
    }
    if (!reply.ok) throw app.httpError(what, reply);
    this.#installationId = String(app.parse(installationSchema, reply, what).id);
    return this.#installationId;
  }
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
