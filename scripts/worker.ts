// npm run worker: the process that will run the queue consumers and the build
// poll loop. For now it validates the configuration, migrates the database and
// idles. It stops cleanly on SIGTERM / SIGINT, and by itself when the
// `npm start` that launched it is gone.
import { migrateDatabase } from "../db/migrate";
import { describeDatabaseError, redactUrl } from "../server/db-errors";
import { loadEnvOrExit } from "../server/env";

const log = (message: string) => console.log(`${new Date().toISOString()} worker: ${message}`);

async function main() {
  const env = loadEnvOrExit();
  try {
    await migrateDatabase(env.DATABASE_URL);
  } catch (err) {
    console.error(`worker: ${describeDatabaseError(err, env.DATABASE_URL)}`);
    process.exit(1);
  }
  log(`ready (pid ${process.pid}, database ${redactUrl(env.DATABASE_URL)}): no consumers are configured yet; idling`);

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
    log(`${why}; stopped`);
    process.exit(0);
  }
  process.on("SIGTERM", () => stop("received SIGTERM"));
  process.on("SIGINT", () => stop("received SIGINT"));
}

void main();
