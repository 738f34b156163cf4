// The production web server: Next.js behind a plain node:http server, so the
// client's address comes from the socket. `next start` keeps any
// X-Forwarded-For a client sends, and the per-address sign-in limit would
// then count whatever address the client names. Unless SLUICE_TRUST_PROXY
// says a proxy in front sets them, the forwarding headers are replaced by
// what this socket knows.
//
//   node --import tsx scripts/serve.ts      (npm start runs it; HOST and PORT as validated in server/env.ts)
import http from "node:http";
import path from "node:path";
import next from "next";
import { loadEnvOrExit } from "../server/env";
import { stopEmbeddedWorker } from "../server/pipeline/embedded";

const FORWARDING = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto"];

async function main() {
  const env = loadEnvOrExit();
  const app = next({ dev: false, dir: path.join(__dirname, ".."), hostname: env.HOST, port: env.PORT });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = http.createServer((req, res) => {
    if (!env.SLUICE_TRUST_PROXY) {
      for (const h of FORWARDING) delete req.headers[h];
      // Next.js fills the others from the socket and the Host header itself.
      req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    }
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
