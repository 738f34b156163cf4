// The web server the e2e tests run against: scripts/serve.ts (what npm start
// runs), or next dev with E2E_DEV=1, on the run's port and database. It also
// runs the real pipeline worker (SLUICE_IN_PROCESS_WORKER) with command
// runners for the tests' queues, so a build triggered from a page really runs.
//
// global-setup starts it and its teardown stops it, rather than Playwright's
// webServer option: Playwright stops a webServer only after the
// globalTeardown files have run, so its worker would still be polling the
// database global-teardown drops.
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { until } from "@/tests/helpers/wait";
import { E2E_GITHUB, e2eDatabaseUrl } from "./env";
import { stopProcess } from "./stop-process";

const ROOT = path.join(__dirname, "..");
/** next dev compiles the first page asked for; the production server answers within seconds. */
const READY_TIMEOUT_MS = 120_000;
/** serve.ts exits at most 10 s after SIGTERM (it stops waiting for keep-alive connections then). */
const STOP_TIMEOUT_MS = 15_000;

/** The runners of the e2e queues (e2e/builds.spec.ts, e2e/github.spec.ts). No default: any other queue cannot be built. */
function e2eRunners() {
  return {
    queues: {
      "e2e-ok": { kind: "command", command: "sleep 3; echo ok" },
      "e2e-fail": { kind: "command", command: "echo boom; exit 3" },
      "e2e-long": { kind: "command", command: "sleep 120" },
      // Two pages of output at once, then a line every half second for ten seconds (e2e/build-logs.spec.ts).
      "e2e-log": {
        kind: "command",
        command:
          'seq -f "line %g of the long output" 1 4000; i=1; while [ $i -le 20 ]; do echo "live $i"; sleep 0.5; i=$((i + 1)); done',
      },
      // GitHub Actions against the fake GitHub (e2e/github.spec.ts). Polls ten minutes apart: within the test
      // only the webhook can take the run from queued to succeeded.
      "e2e-github": {
        kind: "github",
        owner: E2E_GITHUB.owner,
        repo: E2E_GITHUB.repo,
        workflow: E2E_GITHUB.workflow,
        ref: "main",
        inputs: { head: "head" },
        apiUrl: `http://127.0.0.1:${process.env.SLUICE_E2E_GITHUB_PORT}`,
        pollAcceptedMs: 600_000,
        pollRunningMs: 600_000,
      },
    },
  };
}

/** Whether `url` answers 2xx. A connection of its own, closed after: nothing keeps the server's close() waiting. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on("error", () => resolve(false));
  });
}

function forward(from: NodeJS.ReadableStream | null, to: NodeJS.WritableStream) {
  if (from) readline.createInterface({ input: from }).on("line", (line) => to.write(`[WebServer] ${line}\n`));
}

function waitUntilAnswering(child: ChildProcess, url: string) {
  return until(
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the e2e web server exited (${child.exitCode ?? child.signalCode}) before it answered ${url}`);
      }
      return answers(url);
    },
    `the e2e web server to answer ${url}`,
    READY_TIMEOUT_MS,
    200,
  );
}

/**
 * Starts the web server on `port` against the run's database, which must be
 * migrated already (the worker starts with the server), and resolves once it
 * answers; the function it resolves to stops it and waits until it is gone.
 */
export async function startWebServer(port: number): Promise<() => Promise<void>> {
  const base = `http://127.0.0.1:${port}`;
  const health = `${base}/api/health`;
  if (await answers(health)) {
    throw new Error(`${base} is already used: stop what runs there or set SLUICE_E2E_PORT to another port`);
  }
  const args = process.env.E2E_DEV
    ? ["node_modules/next/dist/bin/next", "dev", "-H", "127.0.0.1", "-p", String(port)]
    : ["--import", "tsx", "scripts/serve.ts"];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: e2eDatabaseUrl(),
      PORT: String(port),
      HOST: "127.0.0.1",
      SLUICE_IN_PROCESS_WORKER: "true",
      SLUICE_RUNNERS: JSON.stringify(e2eRunners()),
      // Poll builds often, so a status change reaches the page within a second or so.
      SLUICE_POLL_ACCEPTED_MS: "500",
      SLUICE_POLL_RUNNING_MS: "500",
      SLUICE_BUILD_DIR: process.env.SLUICE_E2E_BUILD_DIR,
      GITHUB_TOKEN: E2E_GITHUB.token,
      GITHUB_WEBHOOK_SECRET: E2E_GITHUB.webhookSecret,
    },
  });
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  // A runner that dies without running its teardown must not leave the port taken for the next run.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    await stopProcess(child, STOP_TIMEOUT_MS);
    process.off("exit", killOnExit);
  };
  try {
    await waitUntilAnswering(child, health);
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}
