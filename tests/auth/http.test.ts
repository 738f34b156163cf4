// The console's HTTP edge, called in-process through the real route
// handlers: CSRF (same-origin JSON only), sessions from the cookie, the
// server refusing a viewer's crafted request, and sign-in / sign-out.
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, openUtcPool } from "@/db/client";
import { csrfRefusal } from "@/server/auth/csrf";
import type { Actor } from "@/server/auth/roles";
import { addUser } from "@/server/auth/users";
import { createQueue, type Queue } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { take } from "@/tests/helpers/wait";

let db: TestDatabase;
let queue: Queue;
let routes: {
  trpc: (req: Request) => Promise<Response>;
  signIn: (req: Request) => Promise<Response>;
  signOut: (req: Request) => Promise<Response>;
  worker: (req: Request) => Promise<Response>;
};
const ORIGIN = "http://sluice.test:3000";
const cookies: Record<string, string> = {};
let dead: { topic: string; partitionKey: string; seq: number };

async function signIn(username: string, password: string, origin = ORIGIN) {
  return routes.signIn(
    new Request(`${ORIGIN}/api/auth/signin`, {
      method: "POST",
      headers: { host: "sluice.test:3000", origin, "content-type": "application/json", "x-forwarded-for": "192.0.2.7" },
      body: JSON.stringify({ username, password }),
    }),
  );
}

function mutate(path: string, input: unknown, opts: { cookie?: string; origin?: string | null; type?: string }) {
  const headers: Record<string, string> = {
    host: "sluice.test:3000",
    "content-type": opts.type ?? "application/json",
    "x-forwarded-for": "192.0.2.7",
  };
  if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
  if (opts.cookie) headers.cookie = opts.cookie;
  const body =
    opts.type === "application/x-www-form-urlencoded"
      ? new URLSearchParams({ input: JSON.stringify(input) }).toString()
      : JSON.stringify(superjson.serialize(input));
  return routes.trpc(new Request(`${ORIGIN}/api/trpc/${path}`, { method: "POST", headers, body }));
}

const dlqCount = () => queue.inspect.countDlq({ topic: "web_dlq" });
const auditCount = async () =>
  Number((await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'dlq.%'"))[0]?.n);

beforeAll(async () => {
  db = await freshDatabase("http");
  // The route handlers read the configuration once, on first use.
  process.env.DATABASE_URL = db.url;
  process.env.SLUICE_RUNNERS = JSON.stringify({ default: { kind: "noop" } });
  const pool = openUtcPool(db.url, { connectionLimit: 2 });
  const admin: Actor = { name: "setup", role: "operator", address: "t" };
  await addUser(createDb(pool), admin, { username: "op", password: "operator-pass-1", role: "operator" });
  await addUser(createDb(pool), admin, { username: "vi", password: "viewer-pass-11", role: "viewer" });
  await pool.end();
  queue = createQueue({ url: db.url });
  await queue.publisher.publish("web", [
    { id: "a", partitionKey: "k", payload: "{}" },
    { id: "b", partitionKey: "k", payload: "{}" },
  ]);
  const sub = queue.subscriber.subscribe("web", { subscriberName: "t", consumerGroup: "g", pollIntervalMs: 10 });
  await take(sub, 2, (d) => d.reject("bad"));
  await sub.close();
  const [row] = (await queue.inspect.listDlq({ topic: "web_dlq" }, { limit: 1 })).rows;
  if (!row) throw new Error("no dead letter");
  dead = { topic: "web_dlq", partitionKey: row.partitionKey, seq: row.seq };

  routes = {
    trpc: (await import("@/app/api/trpc/[trpc]/route")).POST,
    signIn: (await import("@/app/api/auth/signin/route")).POST,
    signOut: (await import("@/app/api/auth/signout/route")).POST,
    worker: (await import("@/app/api/worker/route")).POST,
  };
  for (const [name, password] of [
    ["op", "operator-pass-1"],
    ["vi", "viewer-pass-11"],
  ] as const) {
    const res = await signIn(name, password);
    expect(res.status).toBe(200);
    cookies[name] = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  }
});
afterAll(async () => {
  await queue?.close();
  const { closePool } = await import("@/server/db");
  await closePool();
  const { getWebPipeline } = await import("@/server/pipeline/web");
  await getWebPipeline().close();
  await db?.drop();
});

describe("CSRF", () => {
  it("refuses a cross-origin HTML form post, even with an operator's cookie, and changes nothing", async () => {
    const res = await mutate("dlq.requeueOne", dead, {
      cookie: cookies.op,
      origin: "http://evil.example",
      type: "application/x-www-form-urlencoded",
    });
    expect(res.status).toBe(403);
    expect(await dlqCount()).toBe(2);
    expect(await auditCount()).toBe(0);
  });

  it("refuses cross-origin JSON, and JSON without an Origin", async () => {
    expect((await mutate("dlq.requeueOne", dead, { cookie: cookies.op, origin: "http://evil.example" })).status).toBe(
      403,
    );
    expect((await mutate("dlq.requeueOne", dead, { cookie: cookies.op, origin: null })).status).toBe(403);
    expect((await mutate("dlq.requeueOne", dead, { cookie: cookies.op, type: "text/plain" })).status).toBe(403);
    expect(await dlqCount()).toBe(2);
  });

  it("accepts origins listed in SLUICE_ALLOWED_ORIGINS and nothing else", () => {
    const req = (origin: string) =>
      new Request(`${ORIGIN}/api/trpc/x`, {
        method: "POST",
        headers: { host: "sluice.test:3000", origin, "content-type": "application/json; charset=utf-8" },
      });
    expect(csrfRefusal(req("https://sluice.example.com"), ["https://sluice.example.com"])).toBeNull();
    expect(csrfRefusal(req("https://evil.example.com"), ["https://sluice.example.com"])).toMatch(/refused/);
  });
});

describe("roles over HTTP", () => {
  it("answers 401 without a session", async () => {
    expect((await mutate("dlq.requeueOne", dead, {})).status).toBe(401);
  });

  it("refuses a viewer's crafted same-origin requeue with 403 and leaves the row", async () => {
    const res = await mutate("dlq.requeueOne", dead, { cookie: cookies.vi });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { json: { data: { code: string } } } };
    expect(body.error.json.data.code).toBe("FORBIDDEN");
    expect(await dlqCount()).toBe(2);
    expect(await auditCount()).toBe(0);
  });

  it("lets an operator requeue, audited with the address", async () => {
    const res = await mutate("dlq.requeueOne", dead, { cookie: cookies.op });
    expect(res.status).toBe(200);
    expect(await dlqCount()).toBe(1);
    const [row] = await db.sql<{ actor: string; action: string; address: string }>(
      "SELECT actor, action, address FROM audit_log WHERE action LIKE 'dlq.%'",
    );
    expect(row).toEqual({ actor: "op", action: "dlq.requeue", address: "192.0.2.7" });
  });
});

describe("other routes that change something", () => {
  it("refuses to start the in-process worker for anyone but an operator, same-origin", async () => {
    const post = (headers: Record<string, string>) =>
      routes.worker(
        new Request(`${ORIGIN}/api/worker`, {
          method: "POST",
          headers: { host: "sluice.test:3000", "content-type": "application/json", ...headers },
          body: "{}",
        }),
      );
    expect((await post({ origin: ORIGIN })).status).toBe(401);
    expect((await post({ origin: ORIGIN, cookie: cookies.vi ?? "" })).status).toBe(403);
    expect((await post({ origin: "http://evil.example", cookie: cookies.op ?? "" })).status).toBe(403);
  });
});

describe("sign-in and sign-out routes", () => {
  it("sets an HttpOnly, SameSite session cookie", async () => {
    const res = await signIn("vi", "viewer-pass-11");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^sluice_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/);
  });

  it("refuses a wrong password with 401 and a cross-origin sign-in with 403", async () => {
    expect((await signIn("vi", "wrong-password")).status).toBe(401);
    expect((await signIn("vi", "viewer-pass-11", "http://evil.example")).status).toBe(403);
  });

  it("ends the session on sign-out", async () => {
    const res = await signIn("op", "operator-pass-1");
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const out = await routes.signOut(
      new Request(`${ORIGIN}/api/auth/signout`, {
        method: "POST",
        headers: { host: "sluice.test:3000", origin: ORIGIN, "content-type": "application/json", cookie },
        body: "{}",
      }),
    );
    expect(out.status).toBe(200);
    expect(out.headers.get("set-cookie")).toMatch(/^sluice_session=; .*Max-Age=0/);
    expect((await mutate("dlq.requeueOne", dead, { cookie })).status).toBe(401);
  });
});
