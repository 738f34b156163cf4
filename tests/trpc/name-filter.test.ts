// The topic and queue filters' name matching and page merging (no database:
// the libraries' keyset pages are played by in-memory lists).
import { describe, expect, it } from "vitest";
import type { DeferredCursor } from "@/server/queue";
import {
  mergeNewestFirst,
  mergeSoonestFirst,
  namesMatching,
  type TopicCursors,
  type TopicDeferredPage,
} from "@/server/trpc/name-filter";

describe("namesMatching", () => {
  const names = ["orders", "orders.v2", "billing", "Reorders"];
  it("takes a full name alone", () => {
    expect(namesMatching(names, "orders")).toEqual(["orders"]);
  });
  it("takes every name containing a part, ignoring case, in name order", () => {
    expect(namesMatching(names, "ORDER")).toEqual(["Reorders", "orders", "orders.v2"]);
  });
  it("takes none when nothing contains it", () => {
    expect(namesMatching(names, "ship")).toEqual([]);
  });
});

describe("mergeNewestFirst", () => {
  const b = (createdAt: number, id: string) => ({ createdAt, id });
  it("orders by (createdAt, id) descending and continues from the last row taken", () => {
    const page = mergeNewestFirst(
      [
        { rows: [b(30, "a"), b(10, "c")], nextCursor: null },
        { rows: [b(30, "b"), b(20, "d")], nextCursor: null },
      ],
      3,
    );
    expect(page.rows).toEqual([b(30, "b"), b(30, "a"), b(20, "d")]);
    expect(page.nextCursor).toEqual({ createdAt: 20, id: "d" });
  });
  it("ends when every queue's page was taken whole and none has more", () => {
    const page = mergeNewestFirst([{ rows: [b(5, "x")], nextCursor: null }], 3);
    expect(page).toEqual({ rows: [b(5, "x")], nextCursor: null });
  });
});

interface Row {
  topic: string;
  visibleAfter: number;
  logId: number;
}

/** listDeferred for one topic: keyset on (visibleAfter, logId); rows without their log id, as the library returns them. */
function library(rows: Row[]) {
  return async (
    topic: string,
    after: DeferredCursor | null,
    limit: number,
  ): Promise<TopicDeferredPage<{ id: string; visibleAfter: number }>> => {
    const mine = rows
      .filter((r) => r.topic === topic)
      .filter(
        (r) =>
          !after ||
          r.visibleAfter > after.visibleAfter ||
          (r.visibleAfter === after.visibleAfter && r.logId > after.logId),
      )
      .sort((a, b) => a.visibleAfter - b.visibleAfter || a.logId - b.logId)
      .slice(0, limit + 1);
    const page = mine.slice(0, limit);
    const last = page.at(-1);
    return {
      rows: page.map((r) => ({ id: `${r.topic}#${r.logId}`, visibleAfter: r.visibleAfter })),
      next: mine.length > limit && last ? { visibleAfter: last.visibleAfter, logId: last.logId } : null,
    };
  };
}

describe("mergeSoonestFirst", () => {
  it("pages through several topics soonest first, every row once, ties in the same millisecond included", async () => {
    // Interleaved log ids and many rows due in the same millisecond across topics: the case one shared cursor gets wrong.
    const rows: Row[] = [];
    let logId = 0;
    for (let i = 0; i < 12; i++) {
      for (const topic of ["a", "b", "c"]) {
        rows.push({ topic, visibleAfter: 1_000 + Math.floor(i / 4), logId: ++logId });
      }
    }
    const read = library(rows);
    let cursors: TopicCursors | null = { a: null, b: null, c: null };
    const seen: Array<{ id: string; visibleAfter: number }> = [];
    let pages = 0;
    while (cursors) {
      const page: { rows: Array<{ id: string; visibleAfter: number }>; next: TopicCursors | null } =
        await mergeSoonestFirst(cursors, 5, read);
      expect(page.rows.length).toBeLessThanOrEqual(5);
      seen.push(...page.rows);
      cursors = page.next;
      pages++;
      expect(pages).toBeLessThan(20);
    }
    expect(seen.map((r) => r.id).sort()).toEqual(rows.map((r) => `${r.topic}#${r.logId}`).sort());
    expect(new Set(seen.map((r) => r.id)).size).toBe(rows.length);
    const times = seen.map((r) => r.visibleAfter);
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(pages).toBe(Math.ceil(rows.length / 5));
  });

  it("drops a topic from the cursor once its rows are all shown", async () => {
    const read = library([
      { topic: "a", visibleAfter: 1, logId: 1 },
      { topic: "b", visibleAfter: 2, logId: 2 },
      { topic: "b", visibleAfter: 3, logId: 3 },
    ]);
    const first = await mergeSoonestFirst({ a: null, b: null }, 2, read);
    expect(first.rows.map((r) => r.id)).toEqual(["a#1", "b#2"]);
    expect(first.next).toEqual({ b: { visibleAfter: 2, logId: 2 } });
    const second = await mergeSoonestFirst(first.next ?? {}, 2, read);
    expect(second.rows.map((r) => r.id)).toEqual(["b#3"]);
    expect(second.next).toBeNull();
  });
});
