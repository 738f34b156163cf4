import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext } from "@/server/trpc/context";
import { isReported } from "@/server/trpc/errors";
import { appRouter } from "@/server/trpc/router";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: () => createContext("http"),
    onError({ path, error }) {
      // Procedures' failures are logged by the error middleware (server/trpc/errors.ts); this catches the rest.
      if (error.code === "INTERNAL_SERVER_ERROR" && !isReported(error))
        console.error(`tRPC ${path ?? "?"} failed:`, error);
    },
  });
}

export { handler as GET, handler as POST };
