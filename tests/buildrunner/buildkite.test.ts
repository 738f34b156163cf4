import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  BUILDKITE_IDEMPOTENCY_META_KEY,
  BUILDKITE_STATES,
  BuildkiteRunner,
  type BuildkiteRunnerOptions,
  parseBuildkiteBuildId,
} from "@/server/buildrunner/buildkite";
import { parseBuildkiteWebhook } from "@/server/buildrunner/buildkite-webhook";
import { type BuildStatus, IDEMPOTENCY_KEY, UnknownBuildError, WAITING_FOR } from "@/server/buildrunner/types";
import { FakeBuildkite } from "./fake-buildkite";

const TOKEN = "bkua_0123456789abcdef0123456789abcdef01234567";
const ORG = "acme";
const PIPELINE = "merge-queue";
const BUILDS_PATH = `/v2/organizations/${ORG}/pipelines/${PIPELINE}/builds`;

const base = [{ uris: ["github://acme/app/pull/1/aaa111"] }];
const head = [{ uris: ["github://acme/app/pull/2/bbb222", "github://acme/app/pull/3/ccc333"] }];

let fake: FakeBuildkite;

beforeAll(async () => {
  fake = await FakeBuildkite.start(TOKEN);
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

function runner(extra: Partial<BuildkiteRunnerOptions> = {}) {
  return new BuildkiteRunner({
    apiBaseUrl: fake.baseUrl,
    token: TOKEN,
    organization: ORG,
    pipelines: {
      main: { pipeline: PIPELINE, branch: "main" },
      release: { pipeline: "release-checks", branch: "release/2", commit: "abc123" },
    },
    ...extra,
  });
}

function bodyOf(i: number) {
  return fake.requests[i]?.body as Record<string, unknown>;
}

describe("BuildkiteRunner.trigger", () => {
  it("creates a build with the documented request and returns its id", async () => {
    const { id } = await runner().trigger("main", base, head, { requester: "ada" });

    expect(id).toBe(`buildkite:${ORG}/${PIPELINE}/1`);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req?.method).toBe("POST");
    expect(req?.path).toBe(BUILDS_PATH);
    expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req?.headers["content-type"]).toBe("application/json");
    const body = bodyOf(0);
    expect(body.commit).toBe("HEAD");
    expect(body.branch).toBe("main");
    expect(body.message).toEqual(expect.stringContaining("github://acme/app/pull/2/bbb222"));
    expect(body.env).toEqual({
      SLUICE_QUEUE: "main",
      SLUICE_BASE: JSON.stringify(base),
      SLUICE_HEAD: JSON.stringify(head),
    });
    expect(body.meta_data).toEqual({ requester: "ada" });
  });

  it("uses the configured commit and pipeline of the queue", async () => {
    const { id } = await runner().trigger("release", [], head);
    expect(id).toBe(`buildkite:${ORG}/release-checks/1`);
    expect(fake.requests[0]?.path).toBe(`/v2/organizations/${ORG}/pipelines/release-checks/builds`);
    expect(bodyOf(0).commit).toBe("abc123");
    expect(bodyOf(0).branch).toBe("release/2");
  });

  it("refuses a queue without a pipeline", async () => {
    await expect(runner().trigger("nope", [], head)).rejects.toThrow(/no Buildkite pipeline .*"nope"/);
    expect(fake.requests).toHaveLength(0);
  });

  it("is idempotent: the same key returns the same build and creates only one", async () => {
    const r = runner();
    const key = "batch-17/attempt 1&x=y";
    const first = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: key });
    const second = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: key });
    const other = await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "batch-18" });

    expect(second.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
    expect(fake.buildsIn(ORG, PIPELINE)).toHaveLength(2);
    expect(fake.requests.filter((q) => q.method === "POST")).toHaveLength(2);
    const lookup = fake.requests[0];
    expect(lookup?.method).toBe("GET");
    expect(lookup?.path).toBe(BUILDS_PATH);
    // The key survives the round trip through the query string intact.
    expect(lookup?.query.get(`meta_data[${BUILDKITE_IDEMPOTENCY_META_KEY}]`)).toBe(key);
    expect(bodyOf(1).meta_data).toEqual({ [IDEMPOTENCY_KEY]: key, [BUILDKITE_IDEMPOTENCY_META_KEY]: key });
  });

  it("does not reuse a build the server returned without the key", async () => {
    const r = runner();
    await r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "other" });
    // A server that ignores the filter lists every build of the pipeline.
    const ignoringFilter: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      url.search = "";
      return fetch(url, init);
    };
    const { id } = await runner({ fetch: ignoringFilter }).trigger("main", base, head, { [IDEMPOTENCY_KEY]: "mine" });
    expect(id).toBe(`buildkite:${ORG}/${PIPELINE}/2`);
  });
});

describe("BuildkiteRunner.status", () => {
  const expected: Record<string, BuildStatus> = {
    creating: "accepted",
    scheduled: "accepted",
    waiting: "accepted",
    running: "running",
    failing: "running",
    canceling: "running",
    blocked: "running",
    passed: "succeeded",
    failed: "failed",
    waiting_failed: "failed",
    canceled: "cancelled",
    skipped: "cancelled",
    not_run: "cancelled",
  };

  it("knows every state in the table", () => {
    expect([...BUILDKITE_STATES].sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.entries(expected))("maps Buildkite %s to %s", async (state, status) => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    fake.setState(parseBuildkiteBuildId(id), state);

    const got = await r.status({ id });
    expect(got.status).toBe(status);
    expect(got.metadata.buildkiteState).toBe(state);
    if (state === "blocked") expect(got.metadata.blocked).toBe("true");
    else expect(got.metadata.blocked).toBeUndefined();
  });

  it("reports a passed build stopped at a block step as running, blocked", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    // The REST API shows such a build as its last state plus blocked: true.
    fake.setState(parseBuildkiteBuildId(id), "passed", { blocked: true });
    expect(await r.status({ id })).toMatchObject({
      status: "running",
      metadata: { blocked: "true", [WAITING_FOR]: "a block step" },
    });
  });

  it("exposes web_url as buildUrl, with the number, UUID and cancel reason", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    const ref = parseBuildkiteBuildId(id);
    fake.setState(ref, "canceled", { cancel_reason: "superseded" });
    const build = fake.build(ref);

    const { metadata } = await r.status({ id });
    expect(metadata).toMatchObject({
      buildUrl: `https://buildkite.com/${ORG}/${PIPELINE}/builds/1`,
      buildkiteState: "canceled",
      number: "1",
      id: build?.id,
      cancel_reason: "superseded",
    });
    const req = fake.requests.at(-1);
    expect(req?.method).toBe("GET");
    expect(req?.path).toBe(`${BUILDS_PATH}/1`);
  });

  it("names a state it does not know", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    fake.setState(parseBuildkiteBuildId(id), "teleported");
    await expect(r.status({ id })).rejects.toThrow(/unknown Buildkite build state "teleported"/);
  });

  it("throws UnknownBuildError for a build Buildkite does not have", async () => {
    const err = await runner()
      .status({ id: `buildkite:${ORG}/${PIPELINE}/99` })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownBuildError);
  });

  it.each([
    "noop-123",
    "buildkite:acme/merge-queue",
    "buildkite:acme/merge-queue/0",
    "buildkite:acme/merge-queue/12x",
    "buildkite:acme/../merge-queue/1",
    "buildkite:/merge-queue/1",
  ])("rejects the malformed id %s without a request", async (id) => {
    await expect(runner().status({ id })).rejects.toThrow(/malformed Buildkite build id/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe("BuildkiteRunner.cancel", () => {
  it("cancels a running build", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    const ref = parseBuildkiteBuildId(id);
    fake.setState(ref, "running");

    await r.cancel({ id });
    const req = fake.requests.at(-1);
    expect(req?.method).toBe("PUT");
    expect(req?.path).toBe(`${BUILDS_PATH}/1/cancel`);
    expect(fake.build(ref)?.state).toBe("canceled");
    expect((await r.status({ id })).status).toBe("cancelled");
  });

  it.each(["passed", "failed", "canceled"])("is a no-op on a %s build", async (state) => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    const ref = parseBuildkiteBuildId(id);
    fake.setState(ref, state);

    await expect(r.cancel({ id })).resolves.toBeUndefined();
    expect(fake.build(ref)?.state).toBe(state);
  });

  it("reports a build Buildkite will not cancel yet instead of ignoring it", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    fake.setState(parseBuildkiteBuildId(id), "passed", { blocked: true });
    await expect(r.cancel({ id })).rejects.toThrow(/HTTP 422.*state passed, blocked|state passed, blocked.*HTTP 422/);
  });

  it("throws UnknownBuildError for a build Buildkite does not have", async () => {
    await expect(runner().cancel({ id: `buildkite:${ORG}/${PIPELINE}/42` })).rejects.toBeInstanceOf(UnknownBuildError);
  });
});

describe("errors", () => {
  it("a wrong token gives an error with the status and without the token", async () => {
    const wrong = `${TOKEN}-revoked`;
    const r = runner({ token: wrong });
    const errors = await Promise.all([
      r.trigger("main", base, head).catch((e: Error) => e),
      r.trigger("main", base, head, { [IDEMPOTENCY_KEY]: "k" }).catch((e: Error) => e),
      r.status({ id: `buildkite:${ORG}/${PIPELINE}/1` }).catch((e: Error) => e),
      r.cancel({ id: `buildkite:${ORG}/${PIPELINE}/1` }).catch((e: Error) => e),
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/HTTP 401/);
      expect((err as Error).message).not.toContain(wrong);
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });

  it("keeps the token out of errors even when the server echoes it", async () => {
    const echo: typeof fetch = async (_input, init) => {
      const auth = new Headers(init?.headers).get("authorization");
      return new Response(JSON.stringify({ message: `bad request from ${auth}` }), { status: 500 });
    };
    const err = await runner({ fetch: echo })
      .status({ id: `buildkite:${ORG}/${PIPELINE}/1` })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/HTTP 500/);
    expect((err as Error).message).not.toContain(TOKEN);
  });

  it("keeps the token out of the runner's inspected form", () => {
    expect(inspect(runner(), { depth: 5, showHidden: true })).not.toContain(TOKEN);
  });

  it("times out a request that gets no answer", async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const started = Date.now();
    await expect(
      runner({ fetch: hanging, timeoutMs: 50 }).status({ id: `buildkite:${ORG}/${PIPELINE}/1` }),
    ).rejects.toThrow(/no answer within 50 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("names a server that cannot be reached", async () => {
    const r = runner({ apiBaseUrl: "http://127.0.0.1:1" });
    await expect(r.status({ id: `buildkite:${ORG}/${PIPELINE}/1` })).rejects.toThrow(
      /Buildkite get build .*fetch failed/,
    );
  });
});

describe("parseBuildkiteWebhook", () => {
  const HOOK_TOKEN = "webhook-secret-1234";

  function payload(overrides: Record<string, unknown> = {}) {
    return {
      event: "build.finished",
      build: {
        id: "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983",
        url: `https://api.buildkite.com/v2/organizations/${ORG}/pipelines/${PIPELINE}/builds/42`,
        web_url: `https://buildkite.com/${ORG}/${PIPELINE}/builds/42`,
        number: 42,
        state: "passed",
        blocked: false,
      },
      pipeline: {
        id: "849411f9-9e6d-4739-a0d8-e247088e9b52",
        url: `https://api.buildkite.com/v2/organizations/${ORG}/pipelines/${PIPELINE}`,
        slug: PIPELINE,
        name: "Merge queue",
      },
      sender: { id: "8a7693f8-dbae-4783-9137-84090fce9045", name: "Some Person" },
      ...overrides,
    };
  }

  it("accepts the right token and returns the build id", () => {
    const got = parseBuildkiteWebhook(
      { "x-buildkite-token": HOOK_TOKEN, "x-buildkite-event": "build.finished" },
      JSON.stringify(payload()),
      HOOK_TOKEN,
    );
    expect(got).toEqual({
      ok: true,
      buildId: `buildkite:${ORG}/${PIPELINE}/42`,
      event: "build.finished",
      state: "passed",
    });
  });

  it("reads fetch Headers and a byte body", () => {
    const headers = new Headers({ "X-Buildkite-Token": HOOK_TOKEN });
    const got = parseBuildkiteWebhook(headers, new TextEncoder().encode(JSON.stringify(payload())), HOOK_TOKEN);
    expect(got).toMatchObject({ ok: true, buildId: `buildkite:${ORG}/${PIPELINE}/42` });
  });

  it("falls back to the configured organization when the payload names none", () => {
    const body = {
      event: "build.running",
      build: { number: 7, state: "running", pipeline: { slug: PIPELINE } },
    };
    const got = parseBuildkiteWebhook(
      { "x-buildkite-token": HOOK_TOKEN },
      JSON.stringify(body),
      HOOK_TOKEN,
      "fallback-org",
    );
    expect(got).toMatchObject({ ok: true, buildId: `buildkite:fallback-org/${PIPELINE}/7`, state: "running" });
  });

  it("gives an id the runner can ask about", async () => {
    const r = runner();
    const { id } = await r.trigger("main", base, head);
    const ref = parseBuildkiteBuildId(id);
    const build = fake.build(ref);
    const body = payload({ build: { ...build, url: build?.url, number: ref.number } });

    const got = parseBuildkiteWebhook({ "x-buildkite-token": HOOK_TOKEN }, JSON.stringify(body), HOOK_TOKEN);
    if (!got.ok) throw new Error(got.error);
    expect(got.buildId).toBe(id);
    expect((await r.status({ id: got.buildId })).status).toBe("accepted");
  });

  it.each([
    ["a wrong token", { "x-buildkite-token": "webhook-secret-9999" }],
    ["a longer token", { "x-buildkite-token": `${HOOK_TOKEN}x` }],
    ["no token", {}],
    ["an empty token", { "x-buildkite-token": "" }],
  ])("refuses %s with 401", (_what, headers) => {
    const got = parseBuildkiteWebhook(headers, JSON.stringify(payload()), HOOK_TOKEN);
    expect(got).toMatchObject({ ok: false, status: 401 });
  });

  it("refuses everything when no token is configured", () => {
    const got = parseBuildkiteWebhook({ "x-buildkite-token": "" }, JSON.stringify(payload()), "");
    expect(got).toMatchObject({ ok: false, status: 401 });
  });

  it("checks the token before looking at the body", () => {
    expect(parseBuildkiteWebhook({ "x-buildkite-token": "nope" }, "{not json", HOOK_TOKEN)).toMatchObject({
      status: 401,
    });
  });

  it.each([
    ["invalid JSON", "{not json"],
    ["an empty body", ""],
    ["a ping event", JSON.stringify({ event: "ping", organization: { id: "o" } })],
    ["a job event", JSON.stringify(payload({ event: "job.finished" }))],
    ["no build", JSON.stringify({ event: "build.finished", pipeline: { slug: PIPELINE } })],
    ["no build number", JSON.stringify(payload({ build: { state: "passed", url: "x" } }))],
    ["no pipeline", JSON.stringify({ event: "build.finished", build: { number: 1 } })],
    ["a malformed slug", JSON.stringify(payload({ pipeline: { slug: "../etc", url: "not a url" } }))],
  ])("refuses %s with 400", (_what, body) => {
    const got = parseBuildkiteWebhook({ "x-buildkite-token": HOOK_TOKEN }, body, HOOK_TOKEN, ORG);
    expect(got).toMatchObject({ ok: false, status: 400 });
  });
});
