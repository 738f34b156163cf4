// Walks every procedure of the console's router: none answers an anonymous
// caller, and no mutation runs for a viewer. The role check runs before input
// validation, so calling with an empty input is enough to see it; a new
// procedure is covered the moment it is added to the router.
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pipeline } from "@/server/pipeline";
import { appRouter } from "@/server/trpc/router";
import { contextAs, OPERATOR, VIEWER } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

let db: TestDatabase;
let p: Pipeline;

beforeAll(async () => {
  db = await freshDatabase("roles");
  p = open(db.url, await pipelineConfig({ queues: { main: { kind: "noop" } } }));
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

type Proc = { _def: { type: "query" | "mutation" | "subscription" } };
const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, Proc>).map(([path, proc]) => ({
  path,
  type: proc._def.type,
}));

/** Calls `path` with `input` as `user` and returns the error code, or "OK". */
async function outcome(path: string, user: typeof OPERATOR | null, input: unknown): Promise<string> {
  const caller = appRouter.createCaller(contextAs(() => p.deps, user, "http"));
  // biome-ignore lint/suspicious/noExplicitAny: the walk reaches every procedure by its dotted path.
  const fn = path.split(".").reduce<any>((node, key) => node[key], caller) as (input: unknown) => Promise<unknown>;
  try {
    await fn(input);
    return "OK";
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    return err.code;
  }
}

describe("roles over every procedure", () => {
  it("finds the router's procedures, mutations among them", () => {
    expect(procedures.length).toBeGreaterThan(20);
    expect(procedures.filter((x) => x.type === "mutation").map((x) => x.path)).toEqual(
      expect.arrayContaining(["dlq.requeueOne", "dlq.purge", "deferred.deliverNow", "builds.trigger", "builds.cancel"]),
    );
  });

  it("answers no procedure to an anonymous caller", async () => {
    for (const { path } of procedures) {
      expect({ path, code: await outcome(path, null, {}) }).toEqual({ path, code: "UNAUTHORIZED" });
    }
  });

  it("refuses every mutation to a viewer, before looking at the input", async () => {
    for (const { path } of procedures.filter((x) => x.type === "mutation")) {
      expect({ path, code: await outcome(path, VIEWER, {}) }).toEqual({ path, code: "FORBIDDEN" });
      expect({ path, code: await outcome(path, VIEWER, { garbage: true }) }).toEqual({ path, code: "FORBIDDEN" });
    }
  });

  it("lets an operator reach every mutation (an empty input then fails validation, not the role check)", async () => {
    for (const { path } of procedures.filter((x) => x.type === "mutation")) {
      expect({ path, code: await outcome(path, OPERATOR, {}) }).toEqual({ path, code: "BAD_REQUEST" });
    }
  });

  it("lets a viewer read: no query is refused for the role", async () => {
    for (const { path } of procedures.filter((x) => x.type === "query")) {
      const code = await outcome(path, VIEWER, {});
      expect({ path, refused: code === "FORBIDDEN" || code === "UNAUTHORIZED" }).toEqual({ path, refused: false });
    }
  });
});
