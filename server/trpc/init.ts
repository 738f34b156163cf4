// tRPC's one instance: superjson carries Date, BigInt, Map and Set between the
// server and the browser (a plain JSON transformer would break them).
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError, z } from "zod";
import type { Actor, SessionUser } from "@/server/auth/roles";
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

/** Signed in, any role. Runs before input validation, so a caller who may not call learns nothing of the input. */
const signedIn = t.middleware(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "sign in first" });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/** Operators only: every mutation. */
const operator = t.middleware(({ ctx, next }) => {
  if (ctx.user?.role !== "operator") {
    throw new TRPCError({ code: "FORBIDDEN", message: "only operators may do this; you are signed in as a viewer" });
  }
  return next();
});

export const router = t.router;
/** No sign-in needed. Nothing in the console's router uses it; kept for routes like sign-in. */
export const publicProcedure = t.procedure.use(mapErrors);
/** Reads: any signed-in user. */
export const viewerProcedure = publicProcedure.use(signedIn);
/** Changes: operators only. */
export const operatorProcedure = viewerProcedure.use(operator);

/** The caller as the audit log names them. */
export function actorOf(ctx: { user: SessionUser; address: string }): Actor {
  return { name: ctx.user.username, role: ctx.user.role, address: ctx.address };
}
export const createCallerFactory = t.createCallerFactory;
