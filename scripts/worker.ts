// npm run worker: the process that runs the pipeline's consumers (build,
// buildsignal, speculate) and the command runner's supervision. Start several
// for scale. SIGTERM / SIGINT stop it gracefully: handlers in flight finish,
// what was fetched but not handed out goes back, leases are released. It also
// stops by itself when the `npm start` that launched it is gone.
import { migrateDatabase } from "@/db/migrate";
import { describeDatabaseError, redactUrl } from "@/server/db-errors";
import { loadEnvOrExit } from "@/server/env";
import { createLogger } from "@/server/log";
import { getMetrics, serveMetrics } from "@/server/metrics";
import { openPipeline, pipelineConfigFromEnv, startPipelineWorker } from "@/server/pipeline";
import { warnIfNotDurable } from "@/server/readiness";

const log = (message: string) => console.log(`${new Date().toISOString()} worker: ${message}`);

async function main() {
  const env = loadEnvOrExit();
  try {
    await migrateDatabase(env.DATABASE_URL);
  } catch (err) {
    console.error(`worker: ${describeDatabaseError(err, env.DATABASE_URL)}`);
    process.exit(1);
  }
  await warnIfNotDurable(env.DATABASE_URL, (line) => console.error(`worker: ${line}`));
  const metrics = getMetrics();
  const pipeline = openPipeline(
    env.DATABASE_URL,
    pipelineConfigFromEnv(env),
    createLogger({ pid: process.pid }),
    metrics,
  );
  const metricsServer =
    env.SLUICE_METRICS_PORT === undefined
      ? undefined
      : serveMetrics(metrics, env.SLUICE_METRICS_HOST, env.SLUICE_METRICS_PORT, log, env.SLUICE_METRICS_TOKEN);
  const worker = startPipelineWorker(pipeline.deps);
  log(`ready (pid ${process.pid}, database ${redactUrl(env.DATABASE_URL)}): consuming build, buildsignal, speculate`);

  // Launched by `npm start`: leave when it is gone, even if it was killed outright.
  const parent = Number(process.env.SLUICE_PARENT_PID) || undefined;
  const timer = setInterval(() => {
    if (parent !== undefined && process.ppid !== parent) stop("the npm start that launched this worker is gone");
  }, 2_000);

  let stopped = false;
  function stop(why: string) {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    log(`${why}; stopping`);
    metricsServer?.close();
    void worker
      .stop()
      .then(() => pipeline.close())
      .then(
        () => {
          log("stopped");
          process.exit(0);
        },
        (err) => {
          console.error(`worker: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
  }
  process.on("SIGTERM", () => stop("received SIGTERM"));
  process.on("SIGINT", () => stop("received SIGINT"));
}

void main();
