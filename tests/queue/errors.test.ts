import { describe, expect, it } from "vitest";
import { classifyMysqlError } from "@/server/queue";

describe("classifyMysqlError", () => {
  it.each([
    [1213, "deadlock"],
    [1205, "lock_wait_timeout"],
    [1062, "duplicate"],
    [1927, "connection"],
    [1146, "other"],
  ])("reads errno %i as %s", (errno, kind) => {
    expect(classifyMysqlError({ errno })).toBe(kind);
  });

  it("follows a wrapper's cause (Drizzle's Failed query error keeps the driver's error there)", () => {
    const driver = Object.assign(new Error("Deadlock found when trying to get lock"), { errno: 1213 });
    const wrapped = new Error("Failed query: insert into `builds` …", { cause: driver });
    expect(classifyMysqlError(wrapped)).toBe("deadlock");
    expect(classifyMysqlError(new Error("plain"))).toBe("other");
    expect(classifyMysqlError(undefined)).toBe("other");
  });
});
