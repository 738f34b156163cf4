// ?next= on the sign-in page: only paths of this site, never another origin.
import { describe, expect, it } from "vitest";
import { safeNextPath } from "@/server/auth/next-path";

describe("safeNextPath", () => {
  it("keeps a path of this site, with its query", () => {
    expect(safeNextPath("/dlq?topic=orders_dlq&q=a%20b")).toBe("/dlq?topic=orders_dlq&q=a%20b");
    expect(safeNextPath("/topics/a.b/message?pk=x&seq=3")).toBe("/topics/a.b/message?pk=x&seq=3");
  });

  it("refuses what a browser would take to another origin", () => {
    // As the page receives them, decoded: /%5Cevil.example and /%09/evil.example.
    for (const next of [
      "/\\evil.example",
      "/\t/evil.example",
      "//evil.example",
      "/\\/evil.example",
      "http://evil.example/",
      "https:evil.example",
      "javascript:alert(1)",
      " /dlq",
      "dlq",
    ]) {
      expect(safeNextPath(next), next).toBe("/");
    }
  });

  it("refuses control characters (a newline would break the Location header)", () => {
    expect(safeNextPath("/\n/x")).toBe("/");
    expect(safeNextPath("/a\r\nSet-Cookie: x=1")).toBe("/");
    expect(safeNextPath("/a\u0000")).toBe("/");
  });

  it("ignores a missing, repeated or oversized parameter", () => {
    expect(safeNextPath(undefined)).toBe("/");
    expect(safeNextPath(["/a", "/b"])).toBe("/");
    expect(safeNextPath("")).toBe("/");
    expect(safeNextPath(`/${"a".repeat(5000)}`)).toBe("/");
  });

  it("normalises dot segments without leaving the site", () => {
    expect(safeNextPath("/../../dlq")).toBe("/dlq");
  });
});
