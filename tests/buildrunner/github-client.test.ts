// The github runner's HTTP layer and credentials against the fake GitHub:
// rate limits read the way GitHub's docs describe, 5xx retried for reads
// only, secrets never in an error or an inspected object, and a GitHub App's
// JWT and installation tokens (looked up, cached, refreshed before expiry).
import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { GitHubAppAuth, TokenAuth } from "@/server/buildrunner/github/auth";
import { GitHubClient, GitHubRateLimitError, rateLimitWaitMs } from "@/server/buildrunner/github/client";
import { FakeGitHub } from "./fake-github";
import { addWorkflow, client, FILE, githubRunner, OWNER, REPO, runIdOf, TOKEN } from "./github-helpers";

const APP_ID = "123456";
const INSTALLATION = 4242;
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_KEY = keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const PUBLIC_KEY = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
const base = [{ uris: ["github://acme/app/pull/1/aaa"] }];

let fake: FakeGitHub;
beforeAll(async () => {
  fake = await FakeGitHub.start({
    token: TOKEN,
    app: { appId: APP_ID, publicKey: PUBLIC_KEY, installationId: INSTALLATION },
  });
  addWorkflow(fake);
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const reply = (status: number, headers: Record<string, string>, text = "{}") => ({
  status,
  headers: new Headers(headers),
  text,
});

describe("rateLimitWaitMs", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");

  it.each([
    ["429 with retry-after seconds", reply(429, { "retry-after": "7" }), 7_000],
    ["403 with retry-after seconds", reply(403, { "retry-after": "30" }), 30_000],
    ["an HTTP-date retry-after", reply(429, { "retry-after": "Sun, 01 Mar 2026 12:00:10 GMT" }), 10_000],
    [
      "403 with nothing remaining, measured on GitHub's clock",
      reply(403, {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(now / 1000 + 120),
        // Our clock is an hour off; GitHub's Date header is what counts.
        date: new Date(now).toUTCString(),
      }),
      121_000,
    ],
    [
      "a secondary limit without headers",
      reply(403, {}, '{"message":"You have exceeded a secondary rate limit"}'),
      60_000,
    ],
    ["429 without headers", reply(429, {}), 60_000],
  ])("waits as GitHub asks for %s", (_what, r, ms) => {
    expect(rateLimitWaitMs(r, now + (r.headers.has("date") ? 3_600_000 : 0))).toBe(ms);
  });

  it.each([
    [
      "a 403 for missing permissions",
      reply(403, { "x-ratelimit-remaining": "4999" }, '{"message":"Resource not accessible by integration"}'),
    ],
    ["a 500", reply(500, { "retry-after": "5" })],
    ["a 200", reply(200, { "x-ratelimit-remaining": "0" })],
  ])("is not a rate limit for %s", (_what, r) => {
    expect(rateLimitWaitMs(r, now)).toBeUndefined();
  });
});

describe("GitHubClient", () => {
  it("turns a rate-limited status call into a GitHubRateLimitError that says when to retry", async () => {
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, base);
    fake.inject({ status: 429, headers: { "retry-after": "12" }, body: { message: "secondary rate limit" } });
    const err = await r.status({ id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubRateLimitError);
    expect((err as GitHubRateLimitError).retryAfterMs).toBe(12_000);
  });

  it("retries a read that got 5xx, with backoff, and succeeds", async () => {
    const r = githubRunner(fake);
    const { id } = await r.trigger("main", base, base);
    const runPath = `/repos/${OWNER}/${REPO}/actions/runs/${runIdOf(id)}`;
    const isRunGet = (q: { method: string; path: string }) => q.method === "GET" && q.path === runPath;
    const before = fake.requests.length;
    fake.inject({ status: 502, body: { message: "Server Error" } }, isRunGet);
    fake.inject({ status: 503, body: { message: "Unavailable" } }, isRunGet);
    const got = await r.status({ id });
    expect(got.status).toBe("accepted");
    expect(fake.requests.slice(before).filter(isRunGet)).toHaveLength(3);
  });

  it("gives up on a read after its retries and names the status", async () => {
    for (let i = 0; i < 3; i++) fake.inject({ status: 500, body: { message: "boom" } }, (q) => q.method === "GET");
    await expect(githubRunner(fake).status({ id: `github:${OWNER}/${REPO}/77` })).rejects.toThrow(/HTTP 500/);
    expect(fake.requests).toHaveLength(3);
  });

  it("never retries a write that got 5xx", async () => {
    fake.inject({ status: 503, body: { message: "Unavailable" } });
    await expect(githubRunner(fake).cancel({ id: `github:${OWNER}/${REPO}/77` })).rejects.toThrow(/HTTP 503/);
    expect(fake.requests).toHaveLength(1);
  });

  it("refuses to send credentials to a host other than the API's", async () => {
    await expect(client(fake).request("GET", "http://127.0.0.2:9/repos", "follow a link")).rejects.toThrow(
      /refusing to follow a link to another host/,
    );
    expect(fake.requests).toHaveLength(0);
  });

  it("keeps the token out of errors when a server echoes it, and out of inspected objects", async () => {
    const echo: typeof fetch = async (_input, init) => {
      const auth = new Headers(init?.headers).get("authorization");
      return new Response(JSON.stringify({ message: `bad request from ${auth}` }), { status: 400 });
    };
    const r = githubRunner(fake, { client: client(fake, { fetch: echo }) });
    const errors = await Promise.all([
      r.trigger("main", base, base).catch((e: Error) => e),
      r.cancel({ id: `github:${OWNER}/${REPO}/1` }).catch((e: Error) => e),
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/HTTP 400/);
      expect((err as Error).message).not.toContain(TOKEN);
    }
    expect(inspect(githubRunner(fake), { depth: 8, showHidden: true })).not.toContain(TOKEN);
  });
});

describe("GitHub App", () => {
  const app = (extra: Partial<ConstructorParameters<typeof GitHubAppAuth>[0]> = {}) =>
    new GitHubAppAuth({
      appId: APP_ID,
      privateKey: PRIVATE_KEY,
      owner: OWNER,
      repo: REPO,
      apiUrl: fake.baseUrl,
      ...extra,
    });
  const tokenCalls = () => fake.requests.filter((q) => q.path === `/app/installations/${INSTALLATION}/access_tokens`);

  it("signs an RS256 JWT, finds the installation, and runs workflows with the installation token", async () => {
    const auth = app();
    const r = githubRunner(fake, { client: new GitHubClient({ apiUrl: fake.baseUrl, auth }) });
    const { id } = await r.trigger("main", base, base);
    expect((await r.status({ id })).status).toBe("accepted");

    expect(fake.requests[0]?.path).toBe(`/repos/${OWNER}/${REPO}/installation`);
    expect(tokenCalls()).toHaveLength(1);
    const jwt = String(tokenCalls()[0]?.headers.authorization).replace("Bearer ", "");
    expect(JSON.parse(Buffer.from(jwt.split(".")[0] ?? "", "base64url").toString())).toEqual({
      alg: "RS256",
      typ: "JWT",
    });
    const dispatch = fake.requests.find((q) => q.path.endsWith("/dispatches"));
    expect(dispatch?.headers.authorization).toMatch(/^Bearer ghs_/);
  });

  it("shares one token between concurrent calls and replaces it before it expires", async () => {
    fake.reset({ app: { appId: APP_ID, publicKey: PUBLIC_KEY, installationId: INSTALLATION, tokenTtlMs: 1_500 } });
    const auth = app({ installationId: String(INSTALLATION), refreshMarginMs: 1_000 });
    const first = await Promise.all([auth.authorization(), auth.authorization(), auth.authorization()]);
    expect(new Set(first).size).toBe(1);
    expect(tokenCalls()).toHaveLength(1);
    const issuedAt = tokenCalls()[0]?.at ?? 0;
    // Still valid at GitHub for a while, but inside the margin: a new one is minted now.
    await new Promise((r) => setTimeout(r, 600));
    const second = await auth.authorization();
    expect(second).not.toBe(first[0]);
    expect(tokenCalls()).toHaveLength(2);
    expect((tokenCalls()[1]?.at ?? 0) - issuedAt).toBeLessThan(1_500);
  });

  it("gets a new token when GitHub refuses the cached one", async () => {
    const auth = app({ installationId: String(INSTALLATION) });
    const c = new GitHubClient({ apiUrl: fake.baseUrl, auth });
    await auth.authorization();
    fake.reset(); // GitHub forgot the token (revoked).
    fake.opts.app = { appId: APP_ID, publicKey: PUBLIC_KEY, installationId: INSTALLATION };
    (fake as unknown as { installationTokens: Map<string, number> }).installationTokens.clear();
    const res = await c.request("GET", `/repos/${OWNER}/${REPO}/actions/workflows/${FILE}/runs`, "list runs");
    expect(res.status).toBe(200);
    expect(tokenCalls()).toHaveLength(1);
  });

  it("keeps the private key, the JWT and the tokens out of errors and inspected objects", async () => {
    const auth = app({ installationId: "999" });
    const err = (await auth.authorization().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/installation 999 not found/);
    const shown = `${err.message} ${inspect(auth, { depth: 8, showHidden: true })}`;
    expect(shown).not.toContain("PRIVATE KEY");
    expect(shown).not.toContain(PRIVATE_KEY.split("\n")[1]);
    expect(shown).not.toContain(auth.appJwt());
    expect(() =>
      app({ privateKey: "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----" }),
    ).toThrow(/^GitHub App: the private key is not a PEM private key$/);
  });

  it("a wrong key is refused by GitHub with a message that names the App, not the key", async () => {
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    });
    const auth = app({ privateKey: other.toString(), installationId: String(INSTALLATION) });
    await expect(auth.authorization()).rejects.toThrow(/App 123456: HTTP 401/);
    expect(tokenCalls().length).toBeGreaterThan(0);
  });

  it("works with a plain token too", async () => {
    expect(await new TokenAuth(TOKEN).authorization()).toBe(`Bearer ${TOKEN}`);
    expect(() => new TokenAuth("")).toThrow(/GITHUB_TOKEN/);
  });
});
