// npm start: the one command that runs Sluice from a fresh clone.
//
//  1. validates the configuration (server/env.ts);
//  2. finds a database: DATABASE_URL if set; otherwise the default
//     (mysql://root@127.0.0.1:3306/sluice), and when nothing answers there and
//     a MariaDB/MySQL server binary is installed, a private one with its data in
//     .sluice/mysql, stopped again when this command stops;
//  3. creates and migrates the database;
//  4. builds the web app if there is no build, or a source file is newer than it (not with --dev);
//  5. runs scripts/serve.ts (or `next dev` with --dev) and the worker, until
//     Ctrl-C / SIGTERM, or until one of them exits, then stops the rest.
import fs from "node:fs";
import path from "node:path";
import { databaseName, migrateDatabase } from "@/db/migrate";
import { describeDatabaseError, isConnectionRefused, redactUrl } from "@/server/db-errors";
import { type Env, loadEnvOrExit } from "@/server/env";
import { warnIfNotDurable } from "@/server/readiness";
import { type EmbeddedDatabase, findServerBinary, startEmbeddedDatabase } from "./lib/embedded-db";
import { ensureFirstOperator, type FirstOperator } from "./lib/first-operator";
import { isPortFree, probeDatabaseServer } from "./lib/net";
import { type Exit, type ManagedProcess, startProcess } from "./lib/processes";

const ROOT = path.resolve(__dirname, "..");
const NEXT_BIN = path.join(ROOT, "node_modules", "next", "dist", "bin", "next");
const dev = process.argv.includes("--dev");

const log = (message: string) => console.log(`[sluice] ${message}`);

function die(message: string): never {
  console.error(`[sluice] ${message}`);
  process.exit(1);
}

let embedded: EmbeddedDatabase | undefined;
const children: ManagedProcess[] = [];
let stopping: Promise<void> | undefined;

/** Stops the web server and worker first (they may still talk to the database), then the database. */
function shutdown(code: number, why: string): Promise<void> {
  stopping ??= (async () => {
    log(`${why}; stopping`);
    await Promise.all(children.map((c) => c.stop(15_000)));
    if (embedded) {
      log("stopping the private database");
      await embedded.stop().catch((err) => console.error(`[sluice] could not stop the private database: ${err}`));
    }
    log("stopped");
    process.exit(code);
  })();
  return stopping;
}

let signals = 0;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    signals++;
    if (signals > 1) {
      console.error("[sluice] second signal: killing everything now");
      for (const c of children) c.killNow();
      embedded?.killNow();
      process.exit(1);
    }
    void shutdown(0, `received ${signal}`);
  });
}
// If whatever launched us dies (npm killed outright, a closed terminal), stop too.
const launcher = process.ppid;
setInterval(() => {
  if (process.ppid !== launcher) void shutdown(0, "the process that launched Sluice is gone");
}, 1_000).unref();
// Last resort (an uncaught error): nothing we started may outlive us.
process.on("exit", () => {
  for (const c of children) if (c.running()) c.killNow();
});

async function resolveDatabase(env: Env): Promise<string> {
  const url = env.DATABASE_URL;
  const probe = await probeDatabaseServer(url);
  if (probe.ok) {
    log(`database: ${redactUrl(url)}`);
    return url;
  }
  const problem = describeDatabaseError(probe.error, url);
  if (!isConnectionRefused(probe.error)) die(problem);
  if (!env.databaseUrlIsDefault) die(problem);
  if (env.SLUICE_EMBEDDED_DB === "off") {
    die(`${problem} (The private database fallback is off: SLUICE_EMBEDDED_DB=off.)`);
  }
  const server = findServerBinary();
  if (!server) {
    die(
      `Nothing answers at ${redactUrl(url)}, and no MariaDB or MySQL server is installed here to start a private one. Install MariaDB (Debian/Ubuntu: apt-get install mariadb-server) and start it, or set DATABASE_URL to a running server.`,
    );
  }
  log(`nothing answers at ${redactUrl(url)}; using a private database instead`);
  try {
    embedded = await startEmbeddedDatabase({
      projectRoot: ROOT,
      server,
      preferredPort: env.SLUICE_EMBEDDED_DB_PORT,
      database: databaseName(url),
      log,
    });
  } catch (err) {
    die(`Could not start a private database: ${err instanceof Error ? err.message : String(err)}`);
  }
  log(`database: ${redactUrl(embedded.url)} (private, data in .sluice/mysql)`);
  return embedded.url;
}

function runToEnd(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<Exit> {
  const proc = startProcess(name, process.execPath, args, { cwd: ROOT, env });
  children.push(proc);
  return proc.exited.finally(() => children.splice(children.indexOf(proc), 1));
}

async function main() {
  const env = loadEnvOrExit();
  log(`starting Sluice${dev ? " (development mode)" : ""}`);
  if (!(await isPortFree(env.HOST, env.PORT))) {
    die(
      `Port ${env.PORT} on ${env.HOST} is already in use (is Sluice already running?). Stop that program or set PORT.`,
    );
  }

  const url = await resolveDatabase(env);
  let first: FirstOperator | undefined;
  try {
    const started = Date.now();
    await migrateDatabase(url);
    log(`database ${databaseName(url)} is migrated (${Date.now() - started} ms)`);
    await warnIfNotDurable(url, log);
    first = await ensureFirstOperator(url, env.HOST);
  } catch (err) {
    console.error(`[sluice] ${describeDatabaseError(err, url)}`);
    return shutdown(1, "migration failed");
  }
  if (first?.kind === "refused") return die(first.message);

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: url,
    HOST: env.HOST,
    PORT: String(env.PORT),
    NEXT_TELEMETRY_DISABLED: "1",
    SLUICE_PARENT_PID: String(process.pid),
  };

  const staleBecause = dev ? undefined : buildIsStale();
  if (staleBecause) {
    log(`${staleBecause}: running next build`);
    const build = await runToEnd("build", [NEXT_BIN, "build"], { ...childEnv, NODE_ENV: "production" });
    if (stopping) return;
    if (build.code !== 0) return shutdown(1, `next build failed (exit code ${build.code})`);
  }
  if (stopping) return;

  const web = startProcess(
    "web",
    process.execPath,
    dev
      ? [NEXT_BIN, "dev", "-H", env.HOST, "-p", String(env.PORT)]
      : ["--import", "tsx", path.join(ROOT, "scripts", "serve.ts")],
    { cwd: ROOT, env: { ...childEnv, NODE_ENV: dev ? "development" : "production" } },
  );
  children.push(web);
  if (env.WORKER_ENABLED) {
    children.push(
      startProcess("worker", process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "worker.ts")], {
        cwd: ROOT,
        env: childEnv,
      }),
    );
  } else {
    log("the worker is disabled (WORKER_ENABLED=false)");
  }
  for (const c of children) {
    void c.exited.then((exit) => {
      if (!stopping) {
        const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
        void shutdown(exit.code === 0 ? 0 : 1, `${c.name} exited (${how})`);
      }
    });
  }
  const shownHost = env.HOST === "0.0.0.0" || env.HOST === "::" ? "127.0.0.1" : env.HOST;
  const base = `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${env.PORT}`;
  if (await waitForHttp(`${base}/api/health`, web)) {
    log(`Sluice is running at ${base} (Ctrl-C stops it)`);
    if (first?.kind === "created") {
      log(`No users existed, so operator "${first.username}" was created. Its password, shown once: ${first.password}`);
      log(
        "Add users with `npx sluice add-user <name> --role viewer|operator`; change this password with `npx sluice reset-password admin`.",
      );
    }
  }
}

/** Polls the health route until the web server answers (false if it exited or we are stopping). */
async function waitForHttp(url: string, web: ManagedProcess): Promise<boolean> {
  const deadline = Date.now() + 180_000;
  while (!stopping && web.running()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return true;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      log(`the web server has not answered ${url} for 3 minutes; still waiting`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

main().catch((err) => {
  console.error("[sluice] unexpected error:", err);
  void shutdown(1, "unexpected error");
});

/** Why the web app needs a build: no build yet, or a source newer than it; undefined when it is current. */
function buildIsStale(): string | undefined {
  const stamp = path.join(ROOT, ".next", "BUILD_ID");
  if (!fs.existsSync(stamp)) return "no build in .next yet";
  const built = fs.statSync(stamp).mtimeMs;
  const roots = ["app", "components", "server", "db", "next.config.js", "instrumentation.ts", "package.json"];
  const newer = (p: string): string | undefined => {
    if (!fs.existsSync(p)) return undefined;
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p)) {
        const hit = newer(path.join(p, e));
        if (hit) return hit;
      }
      return undefined;
    }
    return st.mtimeMs > built ? p : undefined;
  };
  for (const r of roots) {
    const hit = newer(path.join(ROOT, r));
    if (hit) return `${path.relative(ROOT, hit)} changed since the last build`;
  }
  return undefined;
}
