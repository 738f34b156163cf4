"use client";
// tRPC and TanStack Query for client components: `const trpc = useTRPC()`,
// then plain TanStack hooks, e.g. `useQuery(trpc.builds.get.queryOptions({ id }))`.
import { QueryClientProvider } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { type ReactNode, useState } from "react";
import superjson from "superjson";
import { MAX_TRPC_BATCH } from "@/server/trpc/limits";
import { makeQueryClient } from "@/server/trpc/query-client";
import type { AppRouter } from "@/server/trpc/router";

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

let browserQueryClient: ReturnType<typeof makeQueryClient> | undefined;

/** To the sign-in page, coming back here afterwards. */
function toSignIn() {
  const here = window.location.pathname + window.location.search;
  if (window.location.pathname !== "/signin") window.location.assign(`/signin?next=${encodeURIComponent(here)}`);
}

function getQueryClient() {
  // On the server, a client per request (never share one user's cache with another's).
  if (typeof window === "undefined") return makeQueryClient();
  // In the browser, one for the page's life: React may throw away state made
  // during a suspended first render, and the cache must outlive that.
  browserQueryClient ??= makeQueryClient(toSignIn);
  return browserQueryClient;
}

export function TRPCReactProvider({ children }: { children: ReactNode }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      // The server refuses larger batches: split them here.
      links: [httpBatchLink({ url: "/api/trpc", transformer: superjson, maxItems: MAX_TRPC_BATCH })],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
