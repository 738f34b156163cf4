// What scripts/serve.ts does to every request before Next.js routes it, and
// to every answer: node:http types only, no Next.js, so it is testable alone.
//
// - Host. A page on rebind.attacker.example whose name the attacker points
//   at this server (DNS rebinding) is same-origin with it in the browser:
//   Host and Origin then agree, and the CSRF check passes. Only the names
//   this server is configured to answer to count: HOST (with PORT), the
//   loopback names when HOST is a loopback address, any IP literal when HOST
//   is a wildcard (an IP literal cannot be rebound), and the hosts of
//   SLUICE_ALLOWED_ORIGINS. Anything else is refused before routing.
// - Forwarding headers: a client's own are dropped unless SLUICE_TRUST_PROXY;
//   behind a proxy, the rightmost X-Forwarded-For entry (the proxy's) is kept.
// - Security headers on every answer; API answers are never cached.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { isIP } from "node:net";

export interface EdgeConfig {
  /** HOST: the address the server listens on. */
  host: string;
  /** PORT. */
  port: number;
  /** SLUICE_ALLOWED_ORIGINS, as origins (scheme://host[:port]). */
  allowedOrigins: readonly string[];
  /** SLUICE_TRUST_PROXY. */
  trustProxy: boolean;
}

const FORWARDING = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto"];

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function isLoopback(host: string): boolean {
  const h = unbracket(host).toLowerCase();
  return h === "localhost" || h === "::1" || (isIP(h) === 4 && h.startsWith("127."));
}

/** Host and port of a Host header value, or undefined when it is not one. */
function parseHost(value: string): { hostname: string; port: number; host: string } | undefined {
  // A Host header is host[:port]; anything with a path, user info or spaces is not.
  if (!/^[A-Za-z0-9.\-_:[\]]{1,300}$/.test(value)) return undefined;
  try {
    const url = new URL(`http://${value}`);
    return { hostname: unbracket(url.hostname).toLowerCase(), port: Number(url.port || 80), host: url.host };
  } catch {
    return undefined;
  }
}

/** Whether a Host (or X-Forwarded-Host) value names this server. */
export function hostAllowed(value: string | undefined, cfg: EdgeConfig): boolean {
  if (!value) return false;
  const given = parseHost(value.trim());
  if (!given) return false;
  for (const origin of cfg.allowedOrigins) {
    try {
      if (new URL(origin).host.toLowerCase() === given.host.toLowerCase()) return true;
    } catch {
      // not an origin; env validation keeps these out
    }
  }
  if (given.port !== cfg.port) return false;
  const bound = unbracket(cfg.host).toLowerCase();
  if (WILDCARDS.has(cfg.host) || bound === "") return isIP(given.hostname) !== 0 || given.hostname === "localhost";
  if (isLoopback(bound)) return isLoopback(given.hostname);
  return given.hostname === bound;
}

/** Why a request is refused before routing (421), or null. */
export function edgeRefusal(req: IncomingMessage, cfg: EdgeConfig): string | null {
  const host = req.headers.host;
  if (!hostAllowed(host, cfg)) return `this server does not answer for host ${JSON.stringify(host ?? "")}`;
  if (cfg.trustProxy) {
    const forwarded = lastEntry(req.headers["x-forwarded-host"]);
    if (forwarded && !hostAllowed(forwarded, cfg)) {
      return `this server does not answer for forwarded host ${JSON.stringify(forwarded)}`;
    }
  }
  return null;
}

function lastEntry(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(",") : (value ?? "");
  return joined.split(",").at(-1)?.trim() ?? "";
}

/**
 * Rewrites the forwarding headers Next.js and the routes read: the socket's
 * address when no proxy is trusted; the proxy's own (rightmost) entries when one is.
 */
export function normaliseForwarding(req: IncomingMessage, cfg: EdgeConfig): void {
  if (!cfg.trustProxy) {
    for (const h of FORWARDING) delete req.headers[h];
    // Next.js fills the others from the socket and the Host header itself.
    req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    return;
  }
  for (const h of FORWARDING) {
    const last = lastEntry(req.headers[h]);
    if (last) req.headers[h] = last;
    else delete req.headers[h];
  }
}

/**
 * The console's pages run Next.js's inline bootstrap scripts, hence
 * 'unsafe-inline' for scripts; everything else comes from this origin only,
 * and no other page may frame these.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
};

/** Answers carrying a user's data, or a token's: never kept by a browser or a shared cache. */
export const API_CACHE_CONTROL = "private, no-store";

/**
 * Makes every answer of `res` carry the security headers (and, under /api/,
 * the cache rule), whatever Next.js set: applied at the moment the head is
 * written, so they win over anything set before.
 */
export function secureResponse(req: IncomingMessage, res: ServerResponse): void {
  const isApi = (req.url ?? "").startsWith("/api/");
  const writeHead = res.writeHead;
  const apply = () => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (isApi) res.setHeader("cache-control", API_CACHE_CONTROL);
    res.removeHeader("x-powered-by");
  };
  // Node calls res.writeHead itself (implicitly) before the first byte of a body.
  res.writeHead = function patchedWriteHead(this: ServerResponse, ...args: unknown[]) {
    apply();
    // Headers handed to writeHead directly would override setHeader: take ours out of them.
    const last = args.at(-1);
    if (last && typeof last === "object" && !Array.isArray(last)) {
      const given = last as OutgoingHttpHeaders;
      for (const name of Object.keys(given)) {
        const lower = name.toLowerCase();
        if (lower in SECURITY_HEADERS || lower === "x-powered-by" || (isApi && lower === "cache-control")) {
          delete given[name];
        }
      }
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

/** A refusal before routing, with the same security headers. */
export function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "text/plain; charset=utf-8",
    "cache-control": API_CACHE_CONTROL,
    connection: "close",
  });
  res.end(`${message}\n`);
}
