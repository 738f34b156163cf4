// The API of the console. Each area gets a router of its own under routers/.
import { createCallerFactory, router } from "./init";
import { auditRouter } from "./routers/audit";
import { buildsRouter } from "./routers/builds";
import { deferredRouter } from "./routers/deferred";
import { dlqRouter } from "./routers/dlq";
import { healthRouter } from "./routers/health";
import { queueRouter } from "./routers/queue";
import { workersRouter } from "./routers/workers";

export const appRouter = router({
  health: healthRouter,
  builds: buildsRouter,
  queue: queueRouter,
  deferred: deferredRouter,
  dlq: dlqRouter,
  workers: workersRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;

/** Calls the router in-process, for server components: no HTTP round trip. */
export const createServerCaller = createCallerFactory(appRouter);
