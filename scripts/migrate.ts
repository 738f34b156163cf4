// npm run db:migrate: creates the database named by DATABASE_URL if missing and
// applies the committed migrations in db/migrations. Safe to run any number of
// times, from any number of processes at once.
import { migrateDatabase } from "@/db/migrate";
import { describeDatabaseError, redactUrl } from "@/server/db-errors";
import { loadEnvOrExit } from "@/server/env";

async function main() {
  const env = loadEnvOrExit();
  const started = Date.now();
  try {
    await migrateDatabase(env.DATABASE_URL);
  } catch (err) {
    console.error(describeDatabaseError(err, env.DATABASE_URL));
    process.exit(1);
  }
  console.log(`Database ${redactUrl(env.DATABASE_URL)} is migrated (${Date.now() - started} ms).`);
}

void main();
