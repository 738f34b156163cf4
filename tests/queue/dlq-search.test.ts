// Failure groups and the DLQ search on the real database: what normalisation
// masks and keeps, that the group pruning behind the search never loses a
// match, the search itself (exact id and key, text anywhere in the reason,
// combined with the other filters, paged), failure-group counts that follow a
// search, and requeue and purge of one failure group, audited with what
// really moved.
import { describe, expect, it } from "vitest";
import { auditJob } from "@/server/auth/audit";
import { failureGroup, groupMayContain } from "@/server/queue/failure-group";
import { runJob } from "@/server/queue/ops/jobs";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take } from "@/tests/helpers/wait";

const suite = queueSuite("dlqsearch");

/** Publishes one message per entry and dead-letters each with its reason, in consumer group `group`. */
async function deadLetter(topic: string, entries: Array<{ id: string; key: string; reason: string }>, group = "g") {
  await suite.queue.publisher.publish(
    topic,
    entries.map((e) => ({ id: e.id, partitionKey: e.key, payload: JSON.stringify({ reason: e.reason }) })),
  );
  const s = suite.queue.subscriber.subscribe(topic, {
    subscriberName: "dlq-search",
    consumerGroup: group,
    pollIntervalMs: 10,
  });
  await take(s, entries.length, (d) => d.reject(JSON.parse(d.message.payload.toString()).reason));
  await s.close();
}

const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();

describe("failure groups (normalisation)", () => {
  it("masks numbers glued to units or letters, keeping the unit", () => {
    expect(failureGroup("timeout after 2708ms")).toBe("timeout after <n>ms");
    expect(failureGroup("timeout after 2708ms")).toBe(failureGroup("timeout after 31ms"));
    expect(failureGroup("retry in 1.5s")).toBe("retry in <n>s");
    expect(failureGroup("user42 may not write")).toBe("user<n> may not write");
    expect(failureGroup("worker_3 lost its lease")).toBe("worker_<n> lost its lease");
    expect(failureGroup("order 8812 not found")).toBe("order <n> not found");
    expect(failureGroup("order-8812 not found")).toBe("order-<n> not found");
  });

  it("keeps names with a short version intact", () => {
    expect(failureGroup("invalid byte sequence for encoding UTF-8: 0xc3")).toBe(
      "invalid byte sequence for encoding UTF-8: <hex>",
    );
    expect(failureGroup("not valid utf-8")).toBe("not valid utf-8");
    expect(failureGroup("SHA-256 digest mismatch")).toBe("SHA-256 digest mismatch");
    expect(failureGroup("AES-128 key rejected")).toBe("AES-128 key rejected");
  });

  it("masks hex ids and uuids, but not words that happen to be hex letters", () => {
    expect(failureGroup("object 507f1f77bcf86cd799439011 not found")).toBe("object <hex> not found");
    expect(failureGroup("commit a3f9c21 is not on main")).toBe("commit <hex> is not on main");
    expect(failureGroup("segfault at 0x7ffe12ab")).toBe("segfault at <hex>");
    expect(failureGroup("req_a3f9c21 timed out")).toBe("req_<hex> timed out");
    expect(failureGroup("job 0b7f2a9e-1111-4c3a-9d2e-aaaaaaaaaaaa failed")).toBe("job <uuid> failed");
    expect(failureGroup("JOB 0B7F2A9E-1111-4C3A-9D2E-AAAAAAAAAAAA failed")).toBe("JOB <uuid> failed");
    expect(failureGroup("deadbeef: a facade decade added")).toBe("deadbeef: a facade decade added");
    expect(failureGroup('user "bob" id 0b7f2a9e-1111-4c3a-9d2e-aaaaaaaaaaaa')).toBe("user <str> id <uuid>");
  });

  it("folds white space and cuts long reasons with a mark", () => {
    expect(failureGroup("  connection \n\t refused  ")).toBe("connection refused");
    const long = failureGroup(`boom ${"x".repeat(300)}`);
    expect(long).toHaveLength(191);
    expect(long.endsWith("…")).toBe(true);
  });

  it("never rules out a group for a text one of its reasons contains", () => {
    const reasons = [
      "timeout after 2708ms calling payments-api",
      'invalid payload: field "sku" missing in line 40',
      "upstream 503 from inventory (request 18a8bab)",
      "job 0b7f2a9e-1111-4c3a-9d2e-aaaaaaaaaaaa failed on worker_3",
      "segfault at 0xdeadbeef in libfoo",
      "invalid byte sequence for encoding UTF-8 near Café",
      "commit a3f9c21 is not on main; retry in 1.5s",
      `very long ${"word ".repeat(60)} tail text`,
    ];
    // Every substring of every reason, as typed and upper-cased: a candidate the search must keep.
    for (const reason of reasons) {
      const group = failureGroup(reason);
      for (let i = 0; i < reason.length; i++) {
        for (let j = i + 1; j <= reason.length; j++) {
          const text = reason.slice(i, j);
          if (!groupMayContain(group, text) || !groupMayContain(group, text.toUpperCase())) {
            throw new Error(`group "${group}" was ruled out for "${text}", a piece of "${reason}"`);
          }
        }
      }
    }
    // Accents fold as utf8mb4_general_ci folds them.
    expect(groupMayContain(failureGroup("near Café"), "cafe")).toBe(true);
    // And it does rule out what cannot match.
    expect(groupMayContain(failureGroup("timeout after 2708ms"), "no such error")).toBe(false);
    expect(groupMayContain(failureGroup("order 8812 not found"), "orders")).toBe(false);
  });

  it("stores the group with each dead letter", async () => {
    await deadLetter("fg.store", [
      { id: "a", key: "k", reason: "timeout after 2708ms" },
      { id: "b", key: "k", reason: "invalid byte sequence for encoding UTF-8" },
    ]);
    const rows = (await suite.queue.inspect.listDlq({ topic: "fg.store_dlq" }, { limit: 10 })).rows;
    expect(rows.map((r) => [r.id, r.failureGroup]).sort()).toEqual([
      ["a", "timeout after <n>ms"],
      ["b", "invalid byte sequence for encoding UTF-8"],
    ]);
  });
});

describe("the DLQ search", () => {
  const topic = "srch";
  const dlq = "srch_dlq";
  let ready: Promise<void> | undefined;
  // Seeded once, by whichever test runs first (each can run alone with -t).
  const seed = () => {
    ready ??= (async () => {
      await deadLetter(topic, [
        { id: "order-1001", key: "cust-1", reason: "order 1001 not found" },
        { id: "order-1002", key: "cust-2", reason: "order 1002 not found" },
        { id: "order-1003", key: "cust-1", reason: "timeout after 2708ms calling payments-api" },
        { id: "order-1004", key: "cust-3", reason: "timeout after 310ms calling payments-api" },
        { id: "order-1005", key: "cust-3", reason: 'invalid payload: field "sku" missing' },
        { id: "order-1006", key: "cust-4", reason: "discount of 100% is not allowed" },
        // An id that also appears in another row's text.
        { id: "cust-4", key: "cust-5", reason: "Café closed" },
        // Longer than the 191 characters the index holds: read from its row.
        { id: "order-1007", key: "cust-6", reason: `stack: ${"frame ".repeat(50)}needle at the end` },
      ]);
      // A second group reads the same topic: it finishes the first eight and gives up on one more.
      await suite.queue.publisher.publish(topic, [
        { id: "order-2001", partitionKey: "cust-9", payload: JSON.stringify({ reason: "order 2001 not found" }) },
      ]);
      const other = suite.queue.subscriber.subscribe(topic, {
        subscriberName: "dlq-search",
        consumerGroup: "other",
        pollIntervalMs: 10,
      });
      await take(other, 9, (d) => (d.message.id === "order-2001" ? d.reject("order 2001 not found") : d.ack()));
      await other.close();
    })();
    return ready;
  };
  const find = async (search: string, extra: Record<string, string> = {}) =>
    ids((await suite.queue.inspect.listDlq({ topic: dlq, search, ...extra }, { limit: 50 })).rows);
  const count = (search: string, extra: Record<string, string> = {}) =>
    suite.queue.inspect.countDlq({ topic: dlq, search, ...extra });

  it("finds a message by its exact id and a partition key by its exact key", async () => {
    await seed();
    expect(await find("order-1003")).toEqual(["order-1003"]);
    expect(await count("order-1003")).toBe(1);
    // Ids and keys compare byte for byte: another case is not the id.
    expect(await find("ORDER-1003")).toEqual([]);
    expect(await find("cust-1")).toEqual(["order-1001", "order-1003"]);
    expect(await count("cust-1")).toBe(2);
  });

  it("finds text anywhere in the reason, across numbers, case and accents", async () => {
    await seed();
    expect(await find("TIMEOUT")).toEqual(["order-1003", "order-1004"]);
    expect(await find("order 1002 not")).toEqual(["order-1002"]);
    expect(await find("ms calling")).toEqual(["order-1003", "order-1004"]);
    expect(await find("08ms call")).toEqual(["order-1003"]);
    expect(await find("imeou")).toEqual(["order-1003", "order-1004"]);
    // Inside a quoted value, which its group masks.
    expect(await find("sku")).toEqual(["order-1005"]);
    expect(await find("cafe")).toEqual(["cust-4"]);
    expect(await find("NEEDLE at")).toEqual(["order-1007"]);
    expect(await count("frame frame")).toBe(1);
    // LIKE's wildcards are plain characters in a search.
    expect(await find("100%")).toEqual(["order-1006"]);
    expect(await find("o_der")).toEqual([]);
    expect(await count("no such error")).toBe(0);
    expect(await find("no such error")).toEqual([]);
  });

  it("counts a row found both by its id and by its text once", async () => {
    await seed();
    // "cust-4" is order-1006's partition key, and the id of the Café row.
    expect(await find("cust-4")).toEqual(["cust-4", "order-1006"]);
    expect(await count("cust-4")).toBe(2);
    expect(await count("order")).toBe(3);
  });

  it("combines with the failure group and original group filters", async () => {
    await seed();
    expect(await find("not found")).toEqual(["order-1001", "order-1002", "order-2001"]);
    expect(await find("not found", { originalGroup: "other" })).toEqual(["order-2001"]);
    expect(await count("not found", { originalGroup: "g" })).toBe(2);
    expect(await find("payments", { failureGroup: "timeout after <n>ms calling payments-api" })).toEqual([
      "order-1003",
      "order-1004",
    ]);
    expect(await find("payments", { failureGroup: "order <n> not found" })).toEqual([]);
    expect(await find("cust-1", { failureGroup: "order <n> not found" })).toEqual(["order-1001"]);
    expect(await suite.queue.inspect.countDlq({ topic: dlq, originalGroup: "other" })).toBe(1);
  });

  it("pages newest first through a search that reads several indexes, each row once", async () => {
    await seed();
    const seen: string[] = [];
    let before: number | undefined;
    let last = Number.POSITIVE_INFINITY;
    for (let page = 0; page < 10; page++) {
      const r = await suite.queue.inspect.listDlq({ topic: dlq, search: "o" }, { limit: 2, before });
      for (const row of r.rows) {
        expect(row.logId).toBeLessThan(last);
        last = row.logId;
        seen.push(row.id);
      }
      if (r.next === null) break;
      before = r.next;
    }
    expect(seen.sort()).toEqual(await find("o"));
    expect(seen).toHaveLength(await count("o"));
  });

  it("counts failure groups over what the search matches", async () => {
    await seed();
    const all = await suite.queue.inspect.dlqFailureGroups(dlq);
    expect(all.find((g) => g.failureGroup === "order <n> not found")?.count).toBe(3);
    const searched = await suite.queue.inspect.dlqFailureGroups({ topic: dlq, search: "order 100" });
    expect(searched.map((g) => [g.failureGroup, g.count])).toEqual([["order <n> not found", 2]]);
    const byGroup = await suite.queue.inspect.dlqFailureGroups({ topic: dlq, originalGroup: "other" });
    expect(byGroup.map((g) => [g.failureGroup, g.count])).toEqual([["order <n> not found", 1]]);
    expect(await suite.queue.inspect.dlqFailureGroups({ topic: dlq, search: "no such error" })).toEqual([]);
  });
});

describe("requeue and purge of one failure group", () => {
  const auditRow = async (id: number) =>
    (
      await suite.db.sql<{ count: number; target: string }>("SELECT count, target FROM audit_log WHERE id = ?", [id])
    )[0];
  const actor = { name: "alice", role: "operator" as const, address: "127.0.0.1" };
  const noPause = async () => {};

  it("requeues only the group's rows that match the search, and audits what moved", async () => {
    await deadLetter("grp", [
      ...Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, key: `k${i % 2}`, reason: `timeout after ${i}ms` })),
      ...Array.from({ length: 4 }, (_, i) => ({ id: `n${i}`, key: `k${i % 2}`, reason: `order ${i} not found` })),
    ]);
    const filter = { topic: "grp_dlq", search: "k1", failureGroup: "timeout after <n>ms" };
    expect(await suite.queue.inspect.countDlq(filter)).toBe(3);
    let auditId = 0;
    const job = await suite.queue.admin.createJob(
      { kind: "requeue", filter, ratePerSecond: 100, createdBy: "alice", expectedCount: 3 },
      {
        audit: async (c, j) => {
          auditId = await auditJob(actor, "dlq.requeue-matching", filter)(c, j);
          return auditId;
        },
      },
    );
    const done = await runJob(suite.raw, job.id, "r", noPause);
    expect([done?.state, done?.processed]).toEqual(["done", 3]);
    expect(ids((await suite.queue.inspect.listDlq({ topic: "grp_dlq" }, { limit: 50 })).rows)).toEqual([
      "n0",
      "n1",
      "n2",
      "n3",
      "t0",
      "t2",
      "t4",
    ]);
    const row = await auditRow(auditId);
    expect(row?.count).toBe(3);
    expect(JSON.parse(row?.target ?? "")).toEqual({ ...filter, job: job.id, planned: 3, state: "done" });
    // The three are back for group g.
    const s = suite.track(
      suite.queue.subscriber.subscribe("grp", { subscriberName: "grp", consumerGroup: "g", pollIntervalMs: 10 }),
    );
    expect((await take(s, 3)).map((d) => d.message.id).sort()).toEqual(["t1", "t3", "t5"]);
  });

  it("purges one group and nothing else, and refuses a stale count", async () => {
    const filter = { topic: "grp_dlq", failureGroup: "order <n> not found" };
    await expect(
      suite.queue.admin.createJob({ kind: "purge", filter, ratePerSecond: 100, createdBy: "a", expectedCount: 3 }),
    ).rejects.toThrow(/matches 4 messages, not the 3 you confirmed/);
    const job = await suite.queue.admin.createJob({
      kind: "purge",
      filter,
      ratePerSecond: 100,
      createdBy: "a",
      expectedCount: 4,
    });
    expect((await runJob(suite.raw, job.id, "r", noPause))?.processed).toBe(4);
    expect(ids((await suite.queue.inspect.listDlq({ topic: "grp_dlq" }, { limit: 50 })).rows)).toEqual([
      "t0",
      "t2",
      "t4",
    ]);
  });

  it("audits a cancelled requeue-all with the count that really moved", async () => {
    await deadLetter(
      "cnl",
      Array.from({ length: 30 }, (_, i) => ({ id: `c${i}`, key: "k", reason: `flaky ${i}` })),
    );
    const filter = { topic: "cnl_dlq" };
    let auditId = 0;
    const job = await suite.queue.admin.createJob(
      { kind: "requeue", filter, ratePerSecond: 10, createdBy: "alice", expectedCount: 30 },
      {
        audit: async (c, j) => {
          auditId = await auditJob(actor, "dlq.requeue-matching", filter)(c, j);
          return auditId;
        },
      },
    );
    // Planned, nothing moved yet.
    expect((await auditRow(auditId))?.count).toBe(0);
    // The operator cancels while the runner waits after its first batch (10 rows at 10/s).
    const done = await runJob(suite.raw, job.id, "r", async () => {
      await suite.queue.admin.cancelJob(job.id);
    });
    expect([done?.state, done?.processed]).toEqual(["cancelled", 10]);
    expect(await suite.queue.inspect.countDlq(filter)).toBe(20);
    const row = await auditRow(auditId);
    expect(row?.count).toBe(10);
    expect(JSON.parse(row?.target ?? "")).toEqual({ topic: "cnl_dlq", job: job.id, planned: 30, state: "cancelled" });
  });
});
