// The DLQ's kept counts (queue_dlq_counts) against the log itself: after
// every kind of write that adds or removes dead letters — a move, a repeated
// move the log dedups, a requeue of one, requeue and purge jobs, deleting one
// message, garbage collection of a consumed DLQ topic, purging the topic —
// each (topic, original group, failure group) count is exactly the number of
// rows, and the newest it names is the newest row or forgotten. The reads
// built on them (counts, failure groups, a search that holds whole groups)
// give what counting the rows gives.
import { describe, expect, it } from "vitest";
import { groupHolds } from "@/server/queue/failure-group";
import { runJob } from "@/server/queue/ops/jobs";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take } from "@/tests/helpers/wait";

const suite = queueSuite("dlqcounts");

async function deadLetter(topic: string, entries: Array<{ id: string; key: string; reason: string }>, group: string) {
  await suite.queue.publisher.publish(
    topic,
    entries.map((e) => ({ id: e.id, partitionKey: e.key, payload: JSON.stringify({ reason: e.reason }) })),
  );
  const s = suite.queue.subscriber.subscribe(topic, {
    subscriberName: group,
    consumerGroup: group,
    pollIntervalMs: 10,
  });
  await take(s, entries.length, (d) => d.reject(JSON.parse(d.message.payload.toString()).reason));
  await s.close();
}

type Count = { topic: string; og: string; fg: string; n: number; newest: number | null };
const sortCounts = (rows: Count[]) =>
  rows
    .map((r) => ({ ...r, n: Number(r.n), newest: r.newest === null ? null : Number(r.newest) }))
    .sort((a, b) => JSON.stringify([a.topic, a.og, a.fg]).localeCompare(JSON.stringify([b.topic, b.og, b.fg])));

/** The kept counts equal a count of the rows; each kept newest is the newest row, or forgotten. */
async function expectExact() {
  const truth = sortCounts(
    await suite.db.sql<Count>(
      `SELECT topic, COALESCE(original_group, '') AS og, failure_group AS fg, COUNT(*) AS n, MAX(log_id) AS newest
       FROM queue_messages WHERE failure_group IS NOT NULL GROUP BY 1, 2, 3`,
    ),
  );
  const kept = sortCounts(
    await suite.db.sql<Count>(
      "SELECT topic, original_group AS og, failure_group AS fg, dead_letters AS n, newest_log_id AS newest FROM queue_dlq_counts",
    ),
  );
  expect(kept.map(({ newest: _, ...k }) => k)).toEqual(truth.map(({ newest: _, ...t }) => t));
  kept.forEach((k, i) => {
    if (k.newest !== null) expect(k.newest).toBe(truth[i]?.newest);
  });
  return kept;
}

const reasons = (n: number, make: (i: number) => string, prefix: string, keys = 2) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, key: `k${i % keys}`, reason: make(i) }));

describe("kept DLQ counts", () => {
  it("count moves into the DLQ per original group and failure group", async () => {
    await deadLetter(
      "c",
      reasons(5, (i) => `timeout after ${i}ms`, "t"),
      "g",
    );
    await deadLetter(
      "c",
      reasons(3, (i) => `order ${i} not found`, "o"),
      "g",
    );
    await expectExact();
    expect(await suite.queue.inspect.countDlq({ topic: "c_dlq" })).toBe(8);
    expect(await suite.queue.inspect.countDlq({ topic: "c_dlq", originalGroup: "g" })).toBe(8);
    expect(await suite.queue.inspect.countDlq({ topic: "c_dlq", failureGroup: "order <n> not found" })).toBe(3);
  });

  it("do not count a repeated move the log deduped (a replay after an offset reset)", async () => {
    await deadLetter("replay", [{ id: "r", key: "k", reason: "bad input" }], "g");
    await suite.queue.admin.resetOffset("g", "replay", "k", 0);
    const s = suite.queue.subscriber.subscribe("replay", {
      subscriberName: "g",
      consumerGroup: "g",
      pollIntervalMs: 10,
    });
    await take(s, 1, (d) => d.reject("bad input"));
    await s.close();
    expect(await suite.db.sql("SELECT log_id FROM queue_messages WHERE topic = 'replay_dlq'")).toHaveLength(1);
    await expectExact();
    expect(await suite.queue.inspect.countDlq({ topic: "replay_dlq" })).toBe(1);
  });

  it("follow a requeue of the newest: the failure group names the next newest as its last", async () => {
    const before = await suite.queue.inspect.dlqFailureGroups("c_dlq");
    const timeouts = before.find((g) => g.failureGroup === "timeout after <n>ms");
    expect(timeouts?.count).toBe(5);
    const newest = (
      await suite.queue.inspect.listDlq({ topic: "c_dlq", failureGroup: "timeout after <n>ms" }, { limit: 2 })
    ).rows;
    await suite.queue.admin.requeueDeadLetter({
      topic: "c_dlq",
      partitionKey: newest[0]?.partitionKey ?? "",
      seq: newest[0]?.seq ?? 0,
    });
    const kept = await expectExact();
    expect(kept.find((k) => k.fg === "timeout after <n>ms")?.newest).toBeNull();
    const after = (await suite.queue.inspect.dlqFailureGroups("c_dlq")).find(
      (g) => g.failureGroup === "timeout after <n>ms",
    );
    expect(after?.count).toBe(4);
    expect(after?.sampleReason).toBe(newest[1]?.reason);
    // The next failure in the group is its newest again.
    await deadLetter("c", [{ id: "t-late", key: "k0", reason: "timeout after 99ms" }], "g");
    const back = await expectExact();
    expect(back.find((k) => k.fg === "timeout after <n>ms")?.newest).not.toBeNull();
  });

  it("follow requeue and purge jobs, deleting one message and emptying a group", async () => {
    const requeue = { topic: "c_dlq", failureGroup: "order <n> not found" };
    const job = await suite.queue.admin.createJob({
      kind: "requeue",
      filter: requeue,
      ratePerSecond: 100,
      createdBy: "a",
      expectedCount: 3,
    });
    expect((await runJob(suite.raw, job.id, "r", async () => {}))?.processed).toBe(3);
    await expectExact();
    expect(await suite.queue.inspect.countDlq(requeue)).toBe(0);
    expect((await suite.queue.inspect.dlqFailureGroups("c_dlq")).map((g) => g.failureGroup)).toEqual([
      "timeout after <n>ms",
    ]);

    const [one] = (await suite.queue.inspect.listDlq({ topic: "c_dlq" }, { limit: 1 })).rows;
    await suite.queue.admin.deleteMessage({
      topic: "c_dlq",
      partitionKey: one?.partitionKey ?? "",
      seq: one?.seq ?? 0,
    });
    await expectExact();
    expect(await suite.queue.inspect.countDlq({ topic: "c_dlq" })).toBe(4);

    const purge = await suite.queue.admin.createJob({
      kind: "purge",
      filter: { topic: "c_dlq", search: "k1" },
      ratePerSecond: 100,
      createdBy: "a",
      expectedCount: await suite.queue.inspect.countDlq({ topic: "c_dlq", search: "k1" }),
    });
    await runJob(suite.raw, purge.id, "r", async () => {});
    await expectExact();
  });

  it("follow garbage collection of a DLQ topic a group consumes, and a purge of the topic", async () => {
    await deadLetter(
      "gc",
      reasons(6, (i) => `lost ${i}`, "l", 3),
      "g",
    );
    await deadLetter(
      "gc",
      reasons(2, (i) => `lost ${i}`, "m", 1),
      "h",
    );
    await expectExact();
    // A group reads the DLQ topic to its end: garbage collection may take every row.
    const reader = suite.queue.subscriber.subscribe("gc_dlq", {
      subscriberName: "r",
      consumerGroup: "r",
      pollIntervalMs: 10,
    });
    await take(reader, 8);
    await reader.close();
    expect(await suite.queue.admin.collectGarbage()).toBeGreaterThanOrEqual(8);
    await expectExact();
    expect(await suite.queue.inspect.countDlq({ topic: "gc_dlq" })).toBe(0);

    await deadLetter(
      "gc",
      reasons(3, (i) => `lost again ${i}`, "a", 2),
      "g",
    );
    await suite.queue.admin.purgeTopic("gc_dlq", { expectedCount: 3 });
    await expectExact();
    expect(await suite.queue.inspect.countDlq({ topic: "gc_dlq" })).toBe(0);
  });

  it("count a search through whole failure groups exactly as through the rows", async () => {
    await deadLetter(
      "s",
      [
        ...reasons(7, (i) => `timeout after ${i}ms calling payments-api`, "t", 3),
        ...reasons(4, (i) => `rate limited, retry in ${i} s`, "r", 3),
        { id: "timeout", key: "k9", reason: "rate limited, retry in 9 s" },
        ...reasons(2, (i) => `upstream TIMEOUT ${i}`, "u", 3),
      ],
      "g",
    );
    await expectExact();
    for (const search of ["timeout", "payments-api", "ms", "retry", "timeout after", "k1", "TIMEOUT", "t3"]) {
      const listed = await suite.queue.inspect.listDlq({ topic: "s_dlq", search }, { limit: 100 });
      expect(await suite.queue.inspect.countDlq({ topic: "s_dlq", search }), search).toBe(listed.rows.length);
      const groups = await suite.queue.inspect.dlqFailureGroups({ topic: "s_dlq", search });
      expect(
        groups.reduce((sum, g) => sum + g.count, 0),
        search,
      ).toBe(listed.rows.length);
    }
    // "timeout": 7 whole, 2 upper case, and the row whose id is the text.
    expect(await suite.queue.inspect.countDlq({ topic: "s_dlq", search: "timeout" })).toBe(10);
  });
});

describe("groupHolds", () => {
  it("claims a whole group only for text every reason in it has", () => {
    expect(groupHolds("timeout after <n>ms calling payments-api", "timeout")).toBe(true);
    expect(groupHolds("timeout after <n>ms calling payments-api", "PAYMENTS-API")).toBe(true);
    expect(groupHolds("timeout after <n>ms calling payments-api", "ms")).toBe(true);
    // Across a mask, a space (any white space) or the cut of a truncated group: not claimed.
    expect(groupHolds("timeout after <n>ms", "2708ms")).toBe(false);
    expect(groupHolds("timeout after <n>ms", "timeout after")).toBe(false);
    expect(groupHolds("timeout after <n>ms", "<n>")).toBe(false);
    expect(groupHolds(`${"x".repeat(190)}…`, "x…")).toBe(false);
    expect(groupHolds(`${"x".repeat(190)}…`, "xx")).toBe(true);
    // Only ASCII case is folded: the Kelvin sign is not a k to the database.
    expect(groupHolds("\u212a<n> reached", "k")).toBe(false);
    expect(groupHolds("café closed", "cafe")).toBe(false);
  });
});
