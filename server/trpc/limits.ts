// Limits of the tRPC endpoint that the browser's client must respect too
// (components/trpc-provider.tsx), so importable from client components.

/** Procedures in one batched HTTP call; the client splits larger batches, the server answers 400. */
export const MAX_TRPC_BATCH = 25;

/** A tRPC POST body (mutations: ids and filters, never payloads), bytes. */
export const MAX_TRPC_BODY_BYTES = 1024 * 1024;
