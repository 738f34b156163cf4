// POST /api/webhooks/buildkite through the real route handler in-process, with
// Buildkite's signed form (X-Buildkite-Signature: timestamp=<unix>,signature=
// <hex HMAC-SHA256 of "<timestamp>.<body>" keyed by the webhook token>): a
// malformed, stale or future signature is refused before the body is read, a
// fresh one only once its HMAC matches the body; the plain token still works.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { hugeBody } from "@/tests/helpers/huge-body";

const TOKEN = "bk-route-token-0123";
const WINDOW_MS = 60_000;
const MiB = 1024 * 1024;
let db: TestDatabase;
let route: (req: Request) => Promise<Response>;

const nowS = () => Math.floor(Date.now() / 1000);

function sign(body: string, opts: { timestamp?: number; key?: string } = {}) {
  const ts = opts.timestamp ?? nowS();
  const hex = createHmac("sha256", opts.key ?? TOKEN)
    .update(`${ts}.${body}`)
    .digest("hex");
  return `timestamp=${ts},signature=${hex}`;
}

function post(body: BodyInit | ReadableStream<Uint8Array>, headers: Record<string, string>) {
  return new Request("http://127.0.0.1:3000/api/webhooks/buildkite", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

/** A build.finished event for a build this Sluice never triggered: accepted calls answer "ignored". */
const EVENT = JSON.stringify({
  event: "build.finished",
  build: { number: 7, state: "passed", url: "https://api.buildkite.com/v2/organizations/acme/pipelines/web/builds/7" },
  pipeline: { slug: "web" },
});
const IGNORED = { ignored: "not a build of this Sluice", buildId: "buildkite:acme/web/7" };

beforeAll(async () => {
  db = await freshDatabase("bkroute");
  process.env.DATABASE_URL = db.url;
  process.env.SLUICE_RUNNERS = JSON.stringify({ default: { kind: "noop" } });
  process.env.BUILDKITE_WEBHOOK_TOKEN = TOKEN;
  process.env.SLUICE_BUILDKITE_REPLAY_MS = String(WINDOW_MS);
  route = (await import("@/app/api/webhooks/buildkite/route")).POST;
});
afterAll(async () => {
  const { getWebPipeline } = await import("@/server/pipeline/web");
  await getWebPipeline().close();
  await db?.drop();
});

describe("POST /api/webhooks/buildkite with X-Buildkite-Signature", () => {
  it("takes a fresh signature made with the webhook token", async () => {
    const res = await route(post(EVENT, { "x-buildkite-signature": sign(EVENT) }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual(IGNORED);
  });

  it("still takes the plain X-Buildkite-Token", async () => {
    const res = await route(post(EVENT, { "x-buildkite-token": TOKEN }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual(IGNORED);
  });

  it.each([
    ["no token and no signature", {}],
    ["a malformed signature", { "x-buildkite-signature": "signature=abc" }],
    ["a signature without a timestamp", { "x-buildkite-signature": `signature=${"a".repeat(64)}` }],
    [
      "a signature older than the window",
      { "x-buildkite-signature": sign("x", { timestamp: nowS() - (WINDOW_MS / 1000 + 30) }) },
    ],
    [
      "a signature from further ahead than the window",
      { "x-buildkite-signature": sign("x", { timestamp: nowS() + (WINDOW_MS / 1000 + 30) }) },
    ],
  ])("refuses %s with 401 before reading the body", async (_what, headers) => {
    const body = hugeBody(64 * MiB);
    const res = await route(post(body.stream, headers));
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
  });

  it("names the replay window when it refuses a stale signature", async () => {
    const old = nowS() - 600;
    const res = await route(post(EVENT, { "x-buildkite-signature": sign(EVENT, { timestamp: old }) }));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toMatch(/stale X-Buildkite-Signature.*60 s window/);
  });

  it("refuses a signature made with another key, over another body, or with a changed timestamp", async () => {
    const other = await route(post(EVENT, { "x-buildkite-signature": sign(EVENT, { key: "another-token-99" }) }));
    expect(other.status).toBe(401);
    expect(((await other.json()) as { error: string }).error).toBe("wrong X-Buildkite-Signature");

    const tampered = EVENT.replace('"passed"', '"failed"');
    const swapped = await route(post(tampered, { "x-buildkite-signature": sign(EVENT) }));
    expect(swapped.status).toBe(401);

    const ts = nowS();
    const [, hex] = /signature=([0-9a-f]+)/.exec(sign(EVENT, { timestamp: ts })) ?? [];
    const moved = await route(post(EVENT, { "x-buildkite-signature": `timestamp=${ts - 1},signature=${hex}` }));
    expect(moved.status).toBe(401);
  });

  it("goes by the signature when both headers are sent: a wrong one is refused despite a right token", async () => {
    const res = await route(
      post(EVENT, { "x-buildkite-token": TOKEN, "x-buildkite-signature": sign(EVENT, { key: "another-token-99" }) }),
    );
    expect(res.status).toBe(401);
  });
});
