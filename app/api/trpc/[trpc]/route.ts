import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { csrfRefusal } from "@/server/auth/csrf";
import { getEnv } from "@/server/env";
import { readCappedBody } from "@/server/http/body";
import { createContext } from "@/server/trpc/context";
import { isReported } from "@/server/trpc/errors";
import { MAX_TRPC_BATCH, MAX_TRPC_BODY_BYTES } from "@/server/trpc/limits";
import { appRouter } from "@/server/trpc/router";
import { requestIdentity } from "@/server/trpc/session";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

async function handler(req: Request) {
  // Mutations come as POST (tRPC never runs one from a GET): same-origin JSON only.
  if (req.method !== "GET") {
    const refusal = csrfRefusal(req, getEnv().SLUICE_ALLOWED_ORIGINS);
    if (refusal) return Response.json({ error: { message: refusal, code: "FORBIDDEN" } }, { status: 403 });
    // Read here, with a ceiling: tRPC itself would read any size.
    const body = await readCappedBody(req, MAX_TRPC_BODY_BYTES);
    if (!body.ok) return body.response;
    req = new Request(req.url, { method: req.method, headers: req.headers, body: body.text });
  }
  const identity = await requestIdentity(req.headers);
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    // A batch is one request that runs every procedure in it: bounded, like every input.
    maxBatchSize: MAX_TRPC_BATCH,
    createContext: () => createContext("http", identity),
    onError({ path, error }) {
      // Procedures' failures are logged by the error middleware (server/trpc/errors.ts); this catches the rest.
      if (error.code === "INTERNAL_SERVER_ERROR" && !isReported(error))
        console.error(`tRPC ${path ?? "?"} failed:`, error);
    },
  });
}

export { handler as GET, handler as POST };
