import { pingDatabase } from "@/server/db";
import { router, viewerProcedure } from "@/server/trpc/init";

export const healthRouter = router({
  /** Is the web server up, and does the database answer a `SELECT 1`? */
  ping: viewerProcedure.query(async () => {
    const database = await pingDatabase();
    return { ok: database.reachable, database, time: new Date() };
  }),
});
