// tRPC's one instance: superjson carries Date, BigInt, Map and Set between the
// server and the browser (a plain JSON transformer would break them).
import { initTRPC } from "@trpc/server";
import superjson from "superjson";
import type { Context } from "./context";

const t = initTRPC.context<Context>().create({ transformer: superjson });

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
