// POST /api/webhooks/github through the real route handler in-process (as
// tests/auth/edge.test.ts does for Buildkite's): a call without a signature
// is refused before its body is read, a signed one is read with a ceiling
// and looked at only once its HMAC matches.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { hugeBody } from "@/tests/helpers/huge-body";

const SECRET = "route-webhook-secret-0123";
const MiB = 1024 * 1024;
let db: TestDatabase;
let route: (req: Request) => Promise<Response>;

const sign = (body: string, secret = SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

function post(body: BodyInit | ReadableStream<Uint8Array>, headers: Record<string, string>) {
  return new Request("http://127.0.0.1:3000/api/webhooks/github", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

beforeAll(async () => {
  db = await freshDatabase("ghroute");
  process.env.DATABASE_URL = db.url;
  process.env.SLUICE_RUNNERS = JSON.stringify({ default: { kind: "noop" } });
  process.env.GITHUB_WEBHOOK_SECRET = SECRET;
  route = (await import("@/app/api/webhooks/github/route")).POST;
});
afterAll(async () => {
  const { getWebPipeline } = await import("@/server/pipeline/web");
  await getWebPipeline().close();
  await db?.drop();
});

describe("POST /api/webhooks/github", () => {
  it.each([
    ["no signature", {}],
    ["a malformed signature", { "x-hub-signature-256": "sha1=abc" }],
  ])("refuses %s with 401 before reading the body", async (_what, headers) => {
    const body = hugeBody(64 * MiB);
    const res = await route(post(body.stream, { "x-github-event": "workflow_run", ...headers }));
    expect(res.status).toBe(401);
    expect(body.pulled()).toBeLessThanOrEqual(64 * 1024);
  });

  it("stops reading a signed body at about 1 MiB and answers 413", async () => {
    const body = hugeBody(64 * MiB);
    const res = await route(post(body.stream, { "x-hub-signature-256": sign("x"), "x-github-event": "workflow_run" }));
    expect(res.status).toBe(413);
    expect(body.pulled()).toBeLessThan(2 * MiB);
  });

  it("refuses a signature made with another secret", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    const res = await route(
      post(body, { "x-hub-signature-256": sign(body, "another-secret-entirely"), "x-github-event": "ping" }),
    );
    expect(res.status).toBe(401);
  });

  it("acknowledges a signed ping and a signed run Sluice did not start", async () => {
    const ping = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const pong = await route(post(ping, { "x-hub-signature-256": sign(ping), "x-github-event": "ping" }));
    expect(pong.status).toBe(202);
    expect(await pong.json()).toEqual({ ignored: "event ping" });

    const run = JSON.stringify({
      action: "completed",
      workflow_run: { id: 30433642, status: "completed", conclusion: "success", run_attempt: 1 },
      repository: { full_name: "acme/app" },
    });
    const res = await route(post(run, { "x-hub-signature-256": sign(run), "x-github-event": "workflow_run" }));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ignored: "not a build of this Sluice", buildId: "github:acme/app/30433642" });
  });

  it("answers 400 for a signed workflow_run that is not one", async () => {
    const body = JSON.stringify({ action: "completed", workflow_run: { id: "x" } });
    const res = await route(post(body, { "x-hub-signature-256": sign(body), "x-github-event": "workflow_run" }));
    expect(res.status).toBe(400);
  });
});
