// server/http/edge.ts, what scripts/serve.ts does before Next.js routes a
// request: which Host names count as this server's, the forwarding headers,
// and the headers every answer carries (over a real node:http server; the
// whole of serve.ts is checked over HTTP in e2e/hardening.spec.ts).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  API_CACHE_CONTROL,
  type EdgeConfig,
  edgeRefusal,
  hostAllowed,
  normaliseForwarding,
  refuse,
  SECURITY_HEADERS,
  secureResponse,
} from "@/server/http/edge";

const loopback: EdgeConfig = { host: "127.0.0.1", port: 3000, allowedOrigins: [], trustProxy: false };

describe("hostAllowed", () => {
  it("takes the configured host and port, and the loopback names for a loopback HOST", () => {
    for (const h of ["127.0.0.1:3000", "localhost:3000", "LOCALHOST:3000", "[::1]:3000", "127.0.0.2:3000"]) {
      expect(hostAllowed(h, loopback), h).toBe(true);
    }
  });

  it("refuses another name (DNS rebinding), another port, and anything that is not a host", () => {
    for (const h of [
      "rebind.attacker.example:3000",
      "127.0.0.1.nip.io:3000",
      "127.0.0.1:3001",
      "127.0.0.1",
      "10.0.0.5:3000",
      "",
      "127.0.0.1:3000/x",
      "user@127.0.0.1:3000",
      "127.0.0.1:3000 evil",
    ]) {
      expect(hostAllowed(h, loopback), h).toBe(false);
    }
    expect(hostAllowed(undefined, loopback)).toBe(false);
  });

  it("takes any IP literal (never rebindable) on the port when HOST is a wildcard, but no other name", () => {
    const all = { ...loopback, host: "0.0.0.0" };
    expect(hostAllowed("10.0.0.5:3000", all)).toBe(true);
    expect(hostAllowed("[2001:db8::5]:3000", all)).toBe(true);
    expect(hostAllowed("localhost:3000", all)).toBe(true);
    expect(hostAllowed("sluice.example.com:3000", all)).toBe(false);
    expect(hostAllowed("10.0.0.5:3001", all)).toBe(false);
  });

  it("takes a named HOST, and the hosts of SLUICE_ALLOWED_ORIGINS as they are (default port left out)", () => {
    const named = { ...loopback, host: "sluice.internal", allowedOrigins: ["https://sluice.example.com"] };
    expect(hostAllowed("sluice.internal:3000", named)).toBe(true);
    expect(hostAllowed("sluice.example.com", named)).toBe(true);
    expect(hostAllowed("sluice.example.com:8443", named)).toBe(false);
    expect(hostAllowed("127.0.0.1:3000", named)).toBe(false);
    const onPort80 = { ...loopback, port: 80 };
    expect(hostAllowed("127.0.0.1", onPort80)).toBe(true);
  });
});

describe("over a real node:http server", () => {
  let server: http.Server;
  let base: string;
  let cfg: EdgeConfig = loopback;
  let seen: http.IncomingHttpHeaders = {};

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      secureResponse(req, res);
      const refusal = edgeRefusal(req, cfg);
      if (refusal) return refuse(res, 421, refusal);
      normaliseForwarding(req, cfg);
      seen = { ...req.headers };
      // What a framework might do: its own cache rule and banner, some in writeHead's own argument.
      res.setHeader("x-powered-by", "Framework");
      res.setHeader("cache-control", "public, max-age=3600");
      res.writeHead(200, { "content-type": "text/plain", "x-frame-options": "ALLOWALL" });
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as AddressInfo;
    base = `http://127.0.0.1:${port}`;
    cfg = { ...loopback, port };
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  function send(path: string, headers: Record<string, string>) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(`${base}${path}`, { headers }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("refuses a rebinding Host with 421 before the handler runs", async () => {
    seen = {};
    const res = await send("/api/auth/signin", {
      host: `rebind.attacker.example:${cfg.port}`,
      origin: `http://rebind.attacker.example:${cfg.port}`,
    });
    expect(res.status).toBe(421);
    expect(seen).toEqual({});
    expect(res.headers["x-frame-options"]).toBe("DENY");
  });

  it("puts the security headers on every answer, over whatever the handler set", async () => {
    const page = await send("/dlq", { host: `127.0.0.1:${cfg.port}` });
    expect(page.status).toBe(200);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(page.headers[name], name).toBe(value);
    expect(page.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(page.headers["x-powered-by"]).toBeUndefined();
    expect(page.headers["cache-control"]).toBe("public, max-age=3600");
    const api = await send("/api/metrics", { host: `localhost:${cfg.port}` });
    expect(api.headers["cache-control"]).toBe(API_CACHE_CONTROL);
  });

  it("replaces a client's X-Forwarded-For with the socket's address without a trusted proxy", async () => {
    await send("/", { host: `127.0.0.1:${cfg.port}`, "x-forwarded-for": "203.0.113.9", "x-forwarded-host": "x" });
    expect(seen["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen["x-forwarded-host"]).toBeUndefined();
  });

  it("keeps only the proxy's own (rightmost) entries behind a trusted proxy, and checks X-Forwarded-Host", async () => {
    cfg = { ...cfg, trustProxy: true, allowedOrigins: ["https://sluice.example.com"] };
    try {
      await send("/", {
        host: `127.0.0.1:${cfg.port}`,
        "x-forwarded-for": "203.0.113.9, 198.51.100.4",
        "x-forwarded-proto": "http, https",
        "x-forwarded-host": "sluice.example.com",
      });
      expect(seen["x-forwarded-for"]).toBe("198.51.100.4");
      expect(seen["x-forwarded-proto"]).toBe("https");
      const rebound = await send("/", {
        host: `127.0.0.1:${cfg.port}`,
        "x-forwarded-host": "rebind.attacker.example",
      });
      expect(rebound.status).toBe(421);
    } finally {
      cfg = { ...cfg, trustProxy: false, allowedOrigins: [] };
    }
  });
});
