import { TRPCError } from "@trpc/server";

/** An id that names nothing: NOT_FOUND, or one that could not be an id at all (BAD_REQUEST). */
export function namesNothing(err: unknown): boolean {
  return err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "BAD_REQUEST");
}
