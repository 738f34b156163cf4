// The production web server: Next.js behind a plain node:http server, which
// does what Next.js cannot be trusted to do on its own (server/http/edge.ts):
// - the client's address comes from the socket: `next start` keeps any
//   X-Forwarded-For a client sends, and the per-address sign-in limit would
//   then count whatever address the client names. Unless SLUICE_TRUST_PROXY
//   says a proxy in front sets them, the forwarding headers are replaced by
//   what this socket knows; with it, the proxy's (rightmost) entry counts;
// - a request for a host this server is not configured to answer to (DNS
//   rebinding) is refused before routing;
// - every answer carries the security headers (no framing, a CSP, nosniff)
//   and API answers are never cached.
//
//   node --import tsx scripts/serve.ts      (npm start runs it; HOST and PORT as validated in server/env.ts)
import http from "node:http";
import path from "node:path";
import next from "next";
import { loadEnvOrExit } from "@/server/env";
import { type EdgeConfig, edgeRefusal, normaliseForwarding, refuse, secureResponse } from "@/server/http/edge";
import { stopEmbeddedWorker } from "@/server/pipeline/embedded";

async function main() {
  const env = loadEnvOrExit();
  const app = next({ dev: false, dir: path.join(__dirname, ".."), hostname: env.HOST, port: env.PORT });
  const handle = app.getRequestHandler();
  await app.prepare();
  const edge: EdgeConfig = {
    host: env.HOST,
    port: env.PORT,
    allowedOrigins: env.SLUICE_ALLOWED_ORIGINS,
    trustProxy: env.SLUICE_TRUST_PROXY,
  };
  const server = http.createServer((req, res) => {
    secureResponse(req, res);
    const refusal = edgeRefusal(req, edge);
    if (refusal) {
      // 421 Misdirected Request: not for this server. The body is never read; the connection closes.
      refuse(res, 421, refusal);
      return;
    }
    normaliseForwarding(req, edge);
    void handle(req, res);
  });
  server.listen(env.PORT, env.HOST, () => {
    console.log(`web server listening on http://${env.HOST}:${env.PORT}`);
  });
  const stop = () => {
    // Keep-alive connections would hold close() open: give them a moment, then go.
    setTimeout(() => process.exit(0), 10_000).unref();
    server.close();
    // The in-process worker (SLUICE_IN_PROCESS_WORKER) hands its leases back before the process ends.
    stopEmbeddedWorker().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
