// What a probe of the running console found, checked through the real route
// handlers in-process (as tests/auth/http.test.ts does): bodies read with a
// ceiling, undecodable cookies, the proxy's address, the metrics token and
// the tRPC batch cap.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, openUtcPool } from "@/db/client";
import type { Actor } from "@/server/auth/roles";
import { addUser } from "@/server/auth/users";
import { createMetrics, serveMetrics } from "@/server/metrics";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { hugeBody } from "@/tests/helpers/huge-body";

let db: TestDatabase;
const ORIGIN = "http://sluice.test:3000";
const HOST = "sluice.test:3000";
const METRICS_TOKEN = "metrics-token-0123456789";
const HOOK_TOKEN = "webhook-token-0123";
const BAD_COOKIE = "sluice_session=%E0%A4%A";
const MiB = 1024 * 1024;
let viewerCookie = "";

type Handler = (req: Request) => Promise<Response> | Response;
let routes: {
  trpcGet: Handler;
  trpcPost: Handler;
  signIn: Handler;
  signOut: Handler;
  workerGet: Handler;
  workerPost: Handler;
  metrics: Handler;
  webhook: Handler;
};

function post(path: string, body: BodyInit | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
  return new Request(`${ORIGIN}${path}`, {
    method: "POST",
    headers: { host: HOST, origin: ORIGIN, "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

function get(path: string, headers: Record<string, string> = {}) {
  return new Request(`${ORIGIN}${path}`, { headers: { host: HOST, ...headers } });
}

beforeAll(async () => {
  db = await freshDatabase("edge");
  // The route handlers read the configuration once, on first use.
  process.env.DATABASE_URL = db.url;
  process.env.SLUICE_RUNNERS = JSON.stringify({ default: { kind: "noop" } });
  process.env.SLUICE_METRICS_TOKEN = METRICS_TOKEN;
  process.env.BUILDKITE_WEBHOOK_TOKEN = HOOK_TOKEN;
  process.env.SLUICE_TRUST_PROXY = "true";
  const pool = openUtcPool(db.url, { connectionLimit: 2 });
  const admin: Actor = { name: "setup", role: "operator", address: "t" };
  await addUser(createDb(pool), admin, { username: "vi", password: "viewer-pass-11", role: "viewer" });
  await pool.end();
  const trpc = await import("@/app/api/trpc/[trpc]/route");
  const worker = await import("@/app/api/worker/route");
  routes = {
    trpcGet: trpc.GET,
    trpcPost: trpc.POST,
    signIn: (await import("@/app/api/auth/signin/route")).POST,
    signOut: (await import("@/app/api/auth/signout/route")).POST,
    workerGet: worker.GET,
    workerPost: worker.POST,
    metrics: (await import("@/app/api/metrics/route")).GET,
    webhook: (await import("@/app/api/webhooks/buildkite/route")).POST,
  };
  const res = await routes.signIn(
    post("/api/auth/signin", JSON.stringify({ username: "vi", password: "viewer-pass-11" }), {
      "x-forwarded-for": "192.0.2.50",
    }),
  );
  expect(res.status).toBe(200);
  viewerCookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
});
afterAll(async () => {
  const { closePool } = await import("@/server/db");
  await closePool();
  const { getWebPipeline } = await import("@/server/pipeline/web");
  await getWebPipeline().close();
  await db?.drop();
});

describe("request bodies", () => {
  it("refuses a 64 MiB chunked sign-in with 413 after reading only a few KiB of it", async () => {
    const body = hugeBody(64 * MiB);
    const res = await routes.signIn(post("/api/auth/signin", body.stream));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(256 * 1024);
  });

  it("refuses a declared oversized sign-in without reading any of it", async () => {
    const body = hugeBody(64 * MiB);
    const res = await routes.signIn(post("/api/auth/signin", body.stream, { "content-length": String(64 * MiB) }));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
  });

  it("checks the webhook's token before reading its body", async () => {
    const body = hugeBody(64 * MiB);
    const res = await routes.webhook(post("/api/webhooks/buildkite", body.stream, { "x-buildkite-token": "wrong" }));
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
  });

  it("stops reading a webhook with the right token at about 1 MiB and answers 413", async () => {
    const body = hugeBody(64 * MiB);
    const res = await routes.webhook(post("/api/webhooks/buildkite", body.stream, { "x-buildkite-token": HOOK_TOKEN }));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(2 * MiB);
  });

  it("stops reading an oversized tRPC mutation and answers 413", async () => {
    const body = hugeBody(64 * MiB);
    const res = await routes.trpcPost(post("/api/trpc/dlq.requeueOne", body.stream, { cookie: viewerCookie }));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(2 * MiB);
  });

  it("still takes a normal webhook and a normal mutation", async () => {
    const hook = await routes.webhook(
      post(
        "/api/webhooks/buildkite",
        JSON.stringify({
          event: "build.finished",
          build: {
            number: 1,
            state: "passed",
            url: "https://api.buildkite.com/v2/organizations/acme/pipelines/p/builds/1",
          },
          pipeline: { slug: "p" },
        }),
        { "x-buildkite-token": HOOK_TOKEN },
      ),
    );
    // Not a build of this Sluice: accepted and ignored.
    expect(hook.status).toBe(202);
    const mutation = await routes.trpcPost(
      post("/api/trpc/dlq.requeueOne", JSON.stringify({ json: { topic: "x_dlq", partitionKey: "k", seq: 1 } }), {
        cookie: viewerCookie,
      }),
    );
    // Read and routed: the viewer is refused by the role check, not by the body cap.
    expect(mutation.status).toBe(403);
  });
});

describe("undecodable session cookie", () => {
  it("is no session: 401 from tRPC and the worker routes, 200 from sign-out, never 500", async () => {
    expect((await routes.trpcGet(get("/api/trpc/dlq.topics", { cookie: BAD_COOKIE }))).status).toBe(401);
    expect(
      (await routes.trpcPost(post("/api/trpc/dlq.requeueOne", JSON.stringify({ json: {} }), { cookie: BAD_COOKIE })))
        .status,
    ).toBe(401);
    expect((await routes.workerGet(get("/api/worker", { cookie: BAD_COOKIE }))).status).toBe(401);
    expect((await routes.workerPost(post("/api/worker", "{}", { cookie: BAD_COOKIE }))).status).toBe(401);
    const out = await routes.signOut(post("/api/auth/signout", "{}", { cookie: BAD_COOKIE }));
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/^sluice_session=; /);
  });
});

describe("behind a proxy (SLUICE_TRUST_PROXY)", () => {
  it("takes the rightmost X-Forwarded-For entry, the one the proxy added, not the client's", async () => {
    const res = await routes.signIn(
      post("/api/auth/signin", JSON.stringify({ username: "vi", password: "viewer-pass-11" }), {
        "x-forwarded-for": "203.0.113.5, 192.0.2.77",
      }),
    );
    expect(res.status).toBe(200);
    const rows = await db.sql<{ address: string }>("SELECT address FROM sessions ORDER BY created_at DESC LIMIT 1");
    expect(rows).toEqual([{ address: "192.0.2.77" }]);
    // A wrong try counts against the proxy's address, not the one the client wrote.
    await routes.signIn(
      post("/api/auth/signin", JSON.stringify({ username: "vi", password: "wrong-password" }), {
        "x-forwarded-for": "203.0.113.6, 192.0.2.78",
      }),
    );
    const keys = await db.sql<{ key: string }>(
      "SELECT `key` FROM signin_throttle WHERE `key` LIKE 'address:%' ORDER BY `key`",
    );
    expect(keys.map((k) => k.key)).toContain("address:192.0.2.78");
    expect(keys.map((k) => k.key)).not.toContain("address:203.0.113.6");
  });
});

describe("SLUICE_METRICS_TOKEN", () => {
  it("guards /api/metrics: 401 without the bearer token or with a wrong one", async () => {
    expect((await routes.metrics(get("/api/metrics"))).status).toBe(401);
    expect((await routes.metrics(get("/api/metrics", { authorization: "Bearer wrong-token" }))).status).toBe(401);
    expect((await routes.metrics(get("/api/metrics", { cookie: viewerCookie }))).status).toBe(401);
    const ok = await routes.metrics(get("/api/metrics", { authorization: `Bearer ${METRICS_TOKEN}` }));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^# HELP sluice_builds /m);
  });

  it("guards GET /api/worker: a signed-in user or the token, nobody else", async () => {
    expect((await routes.workerGet(get("/api/worker"))).status).toBe(401);
    expect((await routes.workerGet(get("/api/worker", { authorization: "Bearer wrong-token" }))).status).toBe(401);
    expect((await routes.workerGet(get("/api/worker", { cookie: viewerCookie }))).status).toBe(200);
    const ok = await routes.workerGet(get("/api/worker", { authorization: `Bearer ${METRICS_TOKEN}` }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ running: false });
  });

  it("guards the worker's own /metrics listener", async () => {
    const server = serveMetrics(createMetrics(), "127.0.0.1", 0, () => {}, METRICS_TOKEN);
    await new Promise<void>((r) => (server.listening ? r() : server.once("listening", () => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: "Bearer nope" } })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
    } finally {
      server.close();
    }
  });
});

describe("tRPC batches", () => {
  const batch = (n: number) =>
    routes.trpcGet(
      get(`/api/trpc/${Array.from({ length: n }, () => "health.ping").join(",")}?batch=1`, { cookie: viewerCookie }),
    );

  it("refuses a batch of 300 procedures with 400 and runs none of them", async () => {
    const res = await batch(300);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Batch call exceeds maximum size");
  });

  it("runs a batch up to the cap", async () => {
    const { MAX_TRPC_BATCH } = await import("@/server/trpc/limits");
    const res = await batch(MAX_TRPC_BATCH);
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBe(MAX_TRPC_BATCH);
  });
});
