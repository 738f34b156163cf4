// What a probe of the running console found, checked over HTTP against
// scripts/serve.ts (what npm start runs) and, for framing, in the browser:
// security headers, no framing by another page of the same site, the Host
// check (DNS rebinding), ?next= that leads elsewhere or breaks the redirect,
// and an undecodable session cookie.
import http from "node:http";
import { expect, type Frame, test } from "@playwright/test";
import mysql from "mysql2/promise";
import { e2eDatabaseUrl } from "./env";
import { runId } from "./queue-helpers";

const PORT = Number(process.env.SLUICE_E2E_PORT);
const BASE = `http://127.0.0.1:${PORT}`;
const BAD_COOKIE = "sluice_session=%E0%A4%A";

/** A raw HTTP request, so the test picks the Host header itself. */
function raw(path: string, opts: { method?: string; headers: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: PORT, path, method: opts.method ?? "GET", headers: opts.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

test.describe("every answer", () => {
  test("carries the security headers, and API answers are never cached", async ({ request }) => {
    for (const path of ["/", "/dlq", "/signin", "/api/health", "/api/trpc/health.ping", "/api/ready"]) {
      const res = await request.get(path, { maxRedirects: 0 });
      expect(res.status(), path).toBeLessThan(500);
      const h = res.headers();
      expect(h["x-frame-options"], path).toBe("DENY");
      expect(h["content-security-policy"], path).toContain("frame-ancestors 'none'");
      expect(h["content-security-policy"], path).toContain("default-src 'self'");
      expect(h["x-content-type-options"], path).toBe("nosniff");
      expect(h["referrer-policy"], path).toBe("same-origin");
      expect(h["x-powered-by"], path).toBeUndefined();
      if (path.startsWith("/api/")) expect(h["cache-control"], path).toBe("private, no-store");
    }
  });
});

test.describe("framing", () => {
  test("a page on another port of the same host cannot frame the console, signed in", async ({ page }) => {
    // Same site as the console (127.0.0.1, another port): the SameSite=Lax session cookie goes with the frame's
    // request. A real local server, not a routed page: Chromium blocks a page it sees as public from loading a
    // local address (Local Network Access), and then the console would never be asked at all.
    const html = `<!doctype html><title>framer</title><iframe id="victim" src="${BASE}/dlq" width="800" height="600"></iframe>`;
    const server = http.createServer((_, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const framer = `http://127.0.0.1:${port}/framer`;
    const framed = page.waitForResponse((r) => r.url() === `${BASE}/dlq`);
    await page.goto(framer);
    // The console answered the frame's request (signed in): the browser must refuse to show it.
    const answer = await framed;
    expect(answer.status()).toBe(200);
    expect(answer.headers()["x-frame-options"]).toBe("DENY");
    // Once the frame has navigated and loaded, it holds the browser's error page, never the console.
    let child: Frame | undefined;
    await expect
      .poll(
        () => {
          child = page.frames().find((f) => f.parentFrame() === page.mainFrame() && !/^(about:blank)?$/.test(f.url()));
          return child?.url();
        },
        { timeout: 10_000 },
      )
      .toBeTruthy();
    await child?.waitForLoadState();
    await expect(page.frameLocator("#victim").getByTestId("user-box")).toHaveCount(0);
    await expect(page.frameLocator("#victim").getByRole("navigation")).toHaveCount(0);
    server.close();
  });
});

test.describe("Host header", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("a request for another host name (DNS rebinding) is refused before sign-in sees it", async () => {
    const username = `rebind-${runId()}`;
    const res = await raw("/api/auth/signin", {
      method: "POST",
      headers: {
        host: `rebind.attacker.example:${PORT}`,
        origin: `http://rebind.attacker.example:${PORT}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ username, password: "wrong-password" }),
    });
    expect(res.status).toBe(421);
    const conn = await mysql.createConnection({ uri: e2eDatabaseUrl() });
    try {
      const [rows] = await conn.query("SELECT `key` FROM signin_throttle WHERE `key` = ?", [`account:${username}`]);
      expect(rows).toEqual([]);
    } finally {
      await conn.end();
    }
    // The names this server answers to still work.
    for (const host of [`127.0.0.1:${PORT}`, `localhost:${PORT}`]) {
      expect((await raw("/api/health", { headers: { host } })).status, host).toBe(200);
    }
  });
});

test.describe("sign-in page, signed in", () => {
  test("sends a user only to a path of this site, and ignores a ?next= it cannot use", async ({ request }) => {
    const target = async (next: string) => {
      const res = await request.get(`/signin?next=${next}`, { maxRedirects: 0 });
      expect(res.status(), next).toBe(307);
      return res.headers().location;
    };
    expect(await target("/%5Cevil.example")).toBe("/");
    expect(await target("/%09/evil.example")).toBe("/");
    expect(await target("//evil.example")).toBe("/");
    expect(await target("/%0A/x")).toBe("/");
    expect(await target("%2Fdlq%3Ftopic%3Dx_dlq")).toBe("/dlq?topic=x_dlq");
  });
});

test.describe("an undecodable session cookie", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("is no session: never a 500", async ({ request }) => {
    const headers = { cookie: BAD_COOKIE };
    expect((await request.get("/api/trpc/dlq.topics", { headers })).status()).toBe(401);
    expect((await request.get("/api/worker", { headers })).status()).toBe(401);
    const out = await request.post("/api/auth/signout", { headers: { ...headers, origin: BASE }, data: {} });
    expect(out.status()).toBe(200);
    const page = await request.get("/dlq", { headers, maxRedirects: 0 });
    expect(page.status()).toBeLessThan(500);
    const signin = await request.get("/signin?next=/%0A/x", { headers });
    expect(signin.status()).toBe(200);
  });
});
