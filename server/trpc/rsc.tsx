// tRPC for server components: query options over the router called in-process
// (no HTTP round trip), one QueryClient per request, and <HydrateClient> to
// hand what a page prefetched to the client components below it.
//
//   await getQueryClient().prefetchQuery(trpc.builds.get.queryOptions({ id }));
//   return <HydrateClient><BuildDetail id={id} /></HydrateClient>;
import "server-only";
import { dehydrate, HydrationBoundary } from "@tanstack/react-query";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { cache, type ReactNode } from "react";
import { createContext } from "./context";
import { makeQueryClient } from "./query-client";
import { appRouter } from "./router";
import { currentIdentity } from "./session";

/** The request's QueryClient (React's cache() scopes it to one server render). */
export const getQueryClient = cache(makeQueryClient);

export const trpc = createTRPCOptionsProxy({
  ctx: async () => createContext("server", await currentIdentity()),
  router: appRouter,
  queryClient: getQueryClient,
});

export function HydrateClient({ children }: { children: ReactNode }) {
  return <HydrationBoundary state={dehydrate(getQueryClient())}>{children}</HydrationBoundary>;
}
