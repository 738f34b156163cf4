// The API of the console. Each area gets a router of its own under routers/.
import { createCallerFactory, router } from "./init";
import { healthRouter } from "./routers/health";

export const appRouter = router({
  health: healthRouter,
});

export type AppRouter = typeof appRouter;

/** Calls the router in-process, for server components: no HTTP round trip. */
export const createServerCaller = createCallerFactory(appRouter);
