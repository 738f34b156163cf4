// Library errors reach the console's and the CLI's callers through their code
// (no database): recognised even when thrown by another copy of the module, as
// Next.js makes one per route, and never for a foreign error carrying a code.
import { describe, expect, it, vi } from "vitest";
import { errorOutcome } from "@/server/error-outcomes";
import { QueueError } from "@/server/queue";
import { libraryErrorCode } from "@/server/trpc/errors";

describe("library error codes", () => {
  it("maps a QueueError thrown by another copy of the queue's module", async () => {
    vi.resetModules();
    const other = await import("@/server/queue/errors");
    const err = new other.QueueError("NOT_FOUND", "no message orders/p1/9");
    expect(err).not.toBeInstanceOf(QueueError);
    expect(libraryErrorCode(err)).toBe("NOT_FOUND");
    expect(errorOutcome(err)?.outcome.exit).toBe(1);
  });

  it("leaves an error that only happens to have a code string to the generic path", () => {
    const driverError = Object.assign(new Error("Table 'x' doesn't exist"), { code: "NOT_FOUND" });
    expect(libraryErrorCode(driverError)).toBeUndefined();
    expect(errorOutcome(driverError)).toBeUndefined();
  });

  it("keeps a closed queue a server fault for the console", () => {
    expect(libraryErrorCode(new QueueError("CLOSED", "the queue is closed"))).toBe("INTERNAL_SERVER_ERROR");
  });
});
