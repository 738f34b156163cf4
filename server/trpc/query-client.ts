// The TanStack QueryClient settings, shared by the browser (components/trpc-provider.tsx)
// and server components (rsc.tsx): pure, no server-only imports. superjson
// (de)serializes what a server component prefetched, so a Date or BigInt in it
// reaches the browser as itself.
import { defaultShouldDehydrateQuery, MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import superjson from "superjson";

/** 4xx: asking again gives the same answer. */
export function isClientError(error: unknown): boolean {
  const status = httpStatus(error);
  return typeof status === "number" && status >= 400 && status < 500;
}

function httpStatus(error: unknown): number | undefined {
  return (error as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
}

/**
 * `onSignedOut` runs when the server answers 401 (the session expired or was
 * ended elsewhere): the browser sends the user to the sign-in page.
 */
export function makeQueryClient(onSignedOut?: () => void) {
  const onError = (error: unknown) => {
    if (httpStatus(error) === 401) onSignedOut?.();
  };
  return new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        // What a server component prefetched is not fetched again at once on hydration.
        staleTime: 5_000,
        retry: (failures, error) => failures < 2 && !isClientError(error),
        // Back online, a query whose last fetch failed (one in flight when the network went) is
        // asked again even with fresh data: refetching only stale ones left the console
        // "Refresh failing" until that query's own interval came round (15 s for the database check).
        refetchOnReconnect: (query) =>
          query.state.status === "error" || query.state.fetchFailureReason !== null ? "always" : true,
      },
      dehydrate: {
        serializeData: superjson.serialize,
        shouldDehydrateQuery: (query) => defaultShouldDehydrateQuery(query) || query.state.status === "pending",
      },
      hydrate: { deserializeData: superjson.deserialize },
    },
  });
}
