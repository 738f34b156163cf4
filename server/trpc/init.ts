// tRPC's one instance: superjson carries Date, BigInt, Map and Set between the
// server and the browser (a plain JSON transformer would break them).
import { initTRPC } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import type { Context } from "./context";
import { toPublicError } from "./errors";

/** Input validation errors by field, for forms: `error.data.zodError.fieldErrors.queue` is the queue's messages. */
export type ZodErrorData = { formErrors: string[]; fieldErrors: Record<string, string[] | undefined> };

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    if (error.code === "BAD_REQUEST" && error.cause instanceof ZodError) {
      const zodError: ZodErrorData = z.flattenError(error.cause);
      // tRPC's own message is the issues as JSON; a sentence per issue reads better wherever it is shown.
      return { ...shape, message: z.prettifyError(error.cause), data: { ...shape.data, zodError } };
    }
    return { ...shape, data: { ...shape.data, zodError: null as ZodErrorData | null } };
  },
});

/** Every procedure goes through this: library errors become tRPC codes in one place (errors.ts). */
const mapErrors = t.middleware(async ({ ctx, next, path, type }) => {
  const result = await next();
  if (!result.ok) throw toPublicError(result.error, { path, type }, ctx.log);
  return result;
});

export const router = t.router;
export const publicProcedure = t.procedure.use(mapErrors);
export const createCallerFactory = t.createCallerFactory;
