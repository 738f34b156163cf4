// The logger: one JSON object per line with the level's name, an ISO time,
// the message and the fields; secrets and payloads never appear.
import { describe, expect, it } from "vitest";
import { createLogger } from "@/server/log";

describe("structured logs", () => {
  it("writes one JSON line per call with the base and child fields", () => {
    const lines: string[] = [];
    const log = createLogger({ in: "test" }, (l) => lines.push(l)).child({ topic: "orders" });
    log.info("delivered", { group: "billing", partition: "k1", buildId: "b-1" });
    log.error("failed", { reason: "boom" });
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
    expect(first).toMatchObject({ level: "info", msg: "delivered", in: "test", topic: "orders", group: "billing" });
    expect(first.partition).toBe("k1");
    expect(first.buildId).toBe("b-1");
    expect(new Date(String(first.time)).toISOString()).toBe(first.time);
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ level: "error", msg: "failed", reason: "boom" });
  });

  it("redacts fields that could hold a secret or a payload", () => {
    const lines: string[] = [];
    const log = createLogger({}, (l) => lines.push(l));
    log.warn("oops", { password: "hunter2-hunter2", token: "abc", payload: '{"card":"4242"}', user: "olive" });
    const line = lines[0] ?? "";
    expect(line).not.toMatch(/hunter2|abc"|4242/);
    expect(JSON.parse(line)).toMatchObject({ password: "[redacted]", payload: "[redacted]", user: "olive" });
  });
});
