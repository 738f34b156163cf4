// queue.ackAll: every delivery acked in the caller's transaction with one
// write, all or nothing; and publishAfter with an array: every message stored
// at once with the same delay, none of them delivered before it on the
// database's clock.
import { beforeAll, describe, expect, it } from "vitest";
import { NOW_MS_SQL } from "@/db/clock";
import { createQueue, type Delivery, QueueError, type SubscriptionInput } from "@/server/queue";
import { rejectionOf } from "@/tests/helpers/errors";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("ackall");

const GROUP = "g";

beforeAll(async () => {
  await suite.db.sql("CREATE TABLE app_rows (id varchar(32) PRIMARY KEY)");
});

class Abort extends Error {}

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.track(
    suite.queue.subscriber.subscribe(topic, {
      subscriberName: "s",
      consumerGroup: GROUP,
      pollIntervalMs: 10,
      visibilityTimeoutMs: 60_000,
      ...opts,
    }),
  );
  return { sub, it: sub[Symbol.asyncIterator]() };
}

/** Publishes `ids` (id → partition key) and takes them all from one subscription without settling them. */
async function outstanding(topic: string, ids: Record<string, string>, opts: Partial<SubscriptionInput> = {}) {
  await suite.queue.publisher.publish(
    topic,
    Object.entries(ids).map(([id, partitionKey]) => ({ id, partitionKey, payload: id })),
  );
  const s = subscribe(topic, opts);
  const ds = await take(s.sub, Object.keys(ids).length, async () => {});
  const byId = new Map(ds.map((d) => [d.message.id, d]));
  expect([...byId.keys()].sort()).toEqual(Object.keys(ids).sort());
  return { ...s, ds, byId: (id: string) => byId.get(id) as Delivery };
}

/** The group's delivery rows of `topic`, by message id: [state, attempts]. */
async function deliveryStates(topic: string): Promise<Record<string, [number, number]>> {
  const rows = await suite.db.sql<{ message_id: string; state: number; attempts: number }>(
    `SELECT m.message_id, d.state, d.attempts
     FROM queue_deliveries d
     JOIN queue_messages m ON m.topic = d.topic AND m.partition_key = d.partition_key AND m.seq = d.seq
     WHERE d.consumer_group = ? AND d.topic = ?`,
    [GROUP, topic],
  );
  return Object.fromEntries(rows.map((r) => [r.message_id, [Number(r.state), Number(r.attempts)]]));
}

/** The group's watermark in each partition of `topic`. */
async function watermarks(topic: string): Promise<Record<string, number>> {
  const rows = await suite.db.sql<{ partition_key: string; watermark: number }>(
    "SELECT partition_key, watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ?",
    [GROUP, topic],
  );
  return Object.fromEntries(rows.map((r) => [r.partition_key, Number(r.watermark)]));
}

const messageIds = async (topic: string) =>
  (
    await suite.db.sql<{ message_id: string }>(
      "SELECT message_id FROM queue_messages WHERE topic = ? ORDER BY partition_key, seq",
      [topic],
    )
  ).map((r) => r.message_id);

const appRows = async () =>
  (await suite.db.sql<{ id: string }>("SELECT id FROM app_rows ORDER BY id")).map((r) => r.id);

async function expectCode(p: Promise<unknown>, code: string) {
  const err = await rejectionOf(p, QueueError);
  expect(err.code).toBe(code);
  return err;
}

const tagOf = (d: Delivery) => `${d.message.id}#${d.attempt}`;

describe("queue.ackAll", () => {
  it("acks deliveries of three partitions with the caller's write and publish in one commit", async () => {
    const topic = "aa.commit";
    const ids = { a1: "a", a2: "a", b1: "b", b2: "b", c1: "c" };
    const { sub, ds } = await outstanding(topic, ids);
    const all = Object.fromEntries(Object.keys(ids).map((id) => [id, [0, 1]]));
    expect(await deliveryStates(topic)).toEqual(all);

    let ackStatements = 0;
    let singleAckStatements = 0;
    await suite.queue.transaction(async (tx) => {
      await tx.execute("INSERT INTO app_rows (id) VALUES ('commit')");
      await suite.queue.publisher.publish(
        "aa.commit.out",
        { id: "follow-up", partitionKey: "k", payload: "x" },
        { tx },
      );
      const before = suite.queue.statementCount();
      await suite.queue.ackAll(ds, { tx });
      ackStatements = suite.queue.statementCount() - before;
      // Written, not committed: seen from outside, nothing has changed yet.
      expect(await deliveryStates(topic)).toEqual(all);
      expect(await appRows()).not.toContain("commit");
    });
    // Every delivery acked, every watermark at its partition's head, the caller's rows with them.
    expect(await deliveryStates(topic)).toEqual(Object.fromEntries(Object.keys(ids).map((id) => [id, [1, 1]])));
    expect(await watermarks(topic)).toEqual({ a: 2, b: 2, c: 1 });
    expect(await appRows()).toContain("commit");
    expect(await messageIds("aa.commit.out")).toEqual(["follow-up"]);
    // Each one settled: none can be settled again.
    for (const d of ds) await expectCode(d.ack(), "ALREADY_SETTLED");

    // One write for all: five acks of three partitions cost less than three single acks in a transaction.
    await suite.queue.publisher.publish(topic, { id: "single", partitionKey: "a", payload: "x" });
    const [single] = await take(sub, 1, async () => {});
    expect(single?.message.id).toBe("single");
    await suite.queue.transaction(async (tx) => {
      const before = suite.queue.statementCount();
      await single?.ack({ tx });
      singleAckStatements = suite.queue.statementCount() - before;
    });
    expect(ackStatements).toBeLessThan(3 * singleAckStatements);

    // The partitions are fetched again after the commit: what is published next comes through, and nothing earlier.
    await suite.queue.publisher.publish(topic, [
      { id: "a-next", partitionKey: "a", payload: "x" },
      { id: "b-next", partitionKey: "b", payload: "x" },
      { id: "c-next", partitionKey: "c", payload: "x" },
    ]);
    const next = await take(sub, 3);
    expect(next.map(tagOf).sort()).toEqual(["a-next#1", "b-next#1", "c-next#1"]);
    await until(
      async () => JSON.stringify(await watermarks(topic)) === JSON.stringify({ a: 4, b: 3, c: 2 }),
      "every watermark past the messages published after the commit",
    );
  });

  it("acks nothing when the transaction rolls back after it; the deliveries can be settled again", async () => {
    const topic = "aa.rollback";
    const ids = { a1: "a", a2: "a", b1: "b", b2: "b" };
    const { it: iter, ds, byId } = await outstanding(topic, ids);
    const err = await suite.queue
      .transaction(async (tx) => {
        await tx.execute("INSERT INTO app_rows (id) VALUES ('rolled-back')");
        await suite.queue.ackAll(ds, { tx });
        throw new Abort("changed my mind");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Abort);
    expect(await deliveryStates(topic)).toEqual({ a1: [0, 1], a2: [0, 1], b1: [0, 1], b2: [0, 1] });
    expect(await watermarks(topic)).toEqual({ a: 0, b: 0 });
    expect(await appRows()).not.toContain("rolled-back");

    // Not settled: each one acks again, on its own or together, and this time it takes.
    await Promise.all([byId("a1").ack(), byId("b2").ack()]);
    await suite.queue.transaction((tx) => suite.queue.ackAll([byId("a2"), byId("b1")], { tx }));
    expect(await deliveryStates(topic)).toEqual({ a1: [1, 1], a2: [1, 1], b1: [1, 1], b2: [1, 1] });
    expect(await watermarks(topic)).toEqual({ a: 2, b: 2 });
    for (const d of ds) await expectCode(d.ack(), "ALREADY_SETTLED");
    // Nothing comes back: the next thing delivered is what is published now.
    await suite.queue.publisher.publish(topic, { id: "after", partitionKey: "a", payload: "x" });
    const d = await nextDelivery(iter, "the message published after the acks");
    expect(tagOf(d)).toBe("after#1");
    await d.ack();
  });

  it("fails with DELIVERY_EXPIRED when one delivery was redelivered, commits nothing, and the others ack alone", async () => {
    const topic = "aa.expired";
    const long = await outstanding(topic, { a1: "a", a2: "a", b1: "b" });
    // x in a topic of its own, taken by a subscription with a short visibility timeout.
    const shortTopic = "aa.expired.short";
    const short = await outstanding(shortTopic, { x: "x" }, { visibilityTimeoutMs: 300 });
    const stale = short.byId("x");
    // Not settled in time: it comes back with attempt 2, and the first delivery of it is stale.
    const again = await nextDelivery(short.it, "x again after its visibility timeout", 10_000);
    expect(tagOf(again)).toBe("x#2");
    expect(await deliveryStates(shortTopic)).toEqual({ x: [0, 2] });

    const err = await expectCode(
      suite.queue.transaction(async (tx) => {
        await tx.execute("INSERT INTO app_rows (id) VALUES ('expired')");
        await suite.queue.publisher.publish("aa.expired.out", { id: "out", partitionKey: "k", payload: "x" }, { tx });
        await suite.queue.ackAll([long.byId("a1"), stale, long.byId("a2"), long.byId("b1")], { tx });
      }),
      "DELIVERY_EXPIRED",
    );
    expect(err.message).toMatch(/visibility timeout/);
    // Nothing of that transaction committed: no ack, no watermark, not the caller's row, not its publish.
    expect(await deliveryStates(topic)).toEqual({ a1: [0, 1], a2: [0, 1], b1: [0, 1] });
    expect(await watermarks(topic)).toEqual({ a: 0, b: 0 });
    expect(await deliveryStates(shortTopic)).toEqual({ x: [0, 2] });
    expect(await appRows()).not.toContain("expired");
    expect(await messageIds("aa.expired.out")).toEqual([]);

    // Each may be settled again: the live ones ack, the expired one fails alone.
    await long.byId("a1").ack();
    await suite.queue.transaction((tx) => long.byId("a2").ack({ tx }));
    await long.byId("b1").ack();
    await expectCode(stale.ack(), "DELIVERY_EXPIRED");
    expect(await deliveryStates(topic)).toEqual({ a1: [1, 1], a2: [1, 1], b1: [1, 1] });
    expect(await watermarks(topic)).toEqual({ a: 2, b: 1 });
    // The stale ack did not touch the redelivery, which still finishes x.
    expect(await deliveryStates(shortTopic)).toEqual({ x: [0, 2] });
    await again.ack();
    expect(await deliveryStates(shortTopic)).toEqual({ x: [1, 2] });
    expect(await watermarks(shortTopic)).toEqual({ x: 1 });
  });

  it("refuses a missing tx, or a tx that is not one of the queue's transactions, with INVALID_ARGUMENT", async () => {
    const topic = "aa.badtx";
    const { ds } = await outstanding(topic, { m1: "p", m2: "q" });
    await expectCode(suite.queue.ackAll(ds, undefined as never), "INVALID_ARGUMENT");
    await expectCode(suite.queue.ackAll(ds, {} as never), "INVALID_ARGUMENT");
    await expectCode(suite.queue.ackAll(ds, { tx: {} as never }), "INVALID_ARGUMENT");
    await expectCode(suite.queue.ackAll(ds, { tx: "tx" as never }), "INVALID_ARGUMENT");
    expect(await deliveryStates(topic)).toEqual({ m1: [0, 1], m2: [0, 1] });
    // Nothing was claimed: both still ack.
    await suite.queue.transaction((tx) => suite.queue.ackAll(ds, { tx }));
    expect(await deliveryStates(topic)).toEqual({ m1: [1, 1], m2: [1, 1] });
  });

  it("refuses an element that is not a delivery of the queue with INVALID_ARGUMENT, claiming none", async () => {
    const topic = "aa.notdelivery";
    const { ds, byId } = await outstanding(topic, { m1: "p", m2: "q" });
    const m1 = byId("m1");
    const lookalike = { ...m1, ack: () => Promise.resolve() } as Delivery;
    for (const bad of [{} as Delivery, null as unknown as Delivery, lookalike]) {
      const err = await expectCode(
        suite.queue.transaction((tx) => suite.queue.ackAll([m1, bad, byId("m2")], { tx })),
        "INVALID_ARGUMENT",
      );
      expect(err.message).toMatch(/deliveries\[1\]/);
    }
    await expectCode(
      suite.queue.transaction((tx) => suite.queue.ackAll(m1 as unknown as Delivery[], { tx })),
      "INVALID_ARGUMENT",
    );
    expect(await deliveryStates(topic)).toEqual({ m1: [0, 1], m2: [0, 1] });
    // None of them was claimed: each acks now.
    await Promise.all(ds.map((d) => d.ack()));
    expect(await deliveryStates(topic)).toEqual({ m1: [1, 1], m2: [1, 1] });
  });

  it("refuses a delivery of another queue with INVALID_ARGUMENT, acking nothing", async () => {
    const topic = "aa.otherqueue";
    await suite.queue.publisher.publish(topic, { id: "theirs", partitionKey: "p", payload: "x" });
    const other = createQueue({ url: suite.db.url });
    try {
      const sub = other.subscriber.subscribe(topic, { subscriberName: "o", consumerGroup: GROUP, pollIntervalMs: 10 });
      const [theirs] = await take(sub, 1, async () => {});
      const err = await expectCode(
        suite.queue.transaction((tx) => suite.queue.ackAll([theirs as Delivery], { tx })),
        "INVALID_ARGUMENT",
      );
      expect(err.message).toMatch(/deliveries\[0\] is not a delivery of this queue/);
      expect(await deliveryStates(topic)).toEqual({ theirs: [0, 1] });
      await (theirs as Delivery).ack();
      expect(await deliveryStates(topic)).toEqual({ theirs: [1, 1] });
    } finally {
      await other.close();
    }
  });

  it("refuses the same delivery twice with ALREADY_SETTLED and leaves every one of them to settle again", async () => {
    const topic = "aa.twice";
    const { byId } = await outstanding(topic, { m1: "p", m2: "p", m3: "q" });
    const [m1, m2, m3] = [byId("m1"), byId("m2"), byId("m3")];
    await expectCode(
      suite.queue.transaction((tx) => suite.queue.ackAll([m1, m2, m1], { tx })),
      "ALREADY_SETTLED",
    );
    expect(await deliveryStates(topic)).toEqual({ m1: [0, 1], m2: [0, 1], m3: [0, 1] });
    // An already-settled delivery among others fails the call the same way, and the others stay free.
    await m3.ack();
    await expectCode(
      suite.queue.transaction((tx) => suite.queue.ackAll([m1, m3, m2], { tx })),
      "ALREADY_SETTLED",
    );
    expect(await deliveryStates(topic)).toEqual({ m1: [0, 1], m2: [0, 1], m3: [1, 1] });
    await m1.ack();
    await suite.queue.transaction((tx) => suite.queue.ackAll([m2], { tx }));
    expect(await deliveryStates(topic)).toEqual({ m1: [1, 1], m2: [1, 1], m3: [1, 1] });
    expect(await watermarks(topic)).toEqual({ p: 2, q: 1 });
  });

  it("resolves at once for no deliveries", async () => {
    const before = suite.queue.statementCount();
    await suite.queue.transaction(async (tx) => {
      await suite.queue.ackAll([], { tx });
    });
    // The transaction's own START TRANSACTION and COMMIT, nothing more.
    expect(suite.queue.statementCount() - before).toBeLessThanOrEqual(2);
  });
});

describe("publishAfter with several messages", () => {
  it("stores them all with the same delay and delivers none before it, in order within each partition", async () => {
    const topic = "aa.after";
    const delay = 1500;
    await suite.queue.publisher.publishAfter(
      topic,
      [
        { id: "p-1", partitionKey: "p", payload: "1" },
        { id: "q-1", partitionKey: "q", payload: "2" },
        { id: "p-2", partitionKey: "p", payload: "3" },
      ],
      delay,
    );
    const stored = await suite.db.sql<{ message_id: string; partition_key: string; seq: number; d: number }>(
      `SELECT message_id, partition_key, seq, CAST(visible_after AS SIGNED) - CAST(published_at AS SIGNED) AS d
       FROM queue_messages WHERE topic = ? ORDER BY partition_key, seq`,
      [topic],
    );
    expect(stored.map((r) => [r.message_id, r.partition_key, Number(r.seq), Number(r.d)])).toEqual([
      ["p-1", "p", 1, delay],
      ["p-2", "p", 2, delay],
      ["q-1", "q", 1, delay],
    ]);
    const { sub } = subscribe(topic);
    const got = await take(sub, 3);
    // None handed out before its visible_after on the database's clock.
    const rows = await suite.db.sql<{ message_id: string; first: number; due: number }>(
      `SELECT m.message_id, d.first_delivered_at AS first, m.visible_after AS due
       FROM queue_deliveries d
       JOIN queue_messages m ON m.topic = d.topic AND m.partition_key = d.partition_key AND m.seq = d.seq
       WHERE d.consumer_group = ? AND d.topic = ?`,
      [GROUP, topic],
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(Number(r.first), r.message_id).toBeGreaterThanOrEqual(Number(r.due));
    // Within a partition, in seq order; each once.
    expect(got.filter((d) => d.message.partitionKey === "p").map(tagOf)).toEqual(["p-1#1", "p-2#1"]);
    expect(got.filter((d) => d.message.partitionKey === "q").map(tagOf)).toEqual(["q-1#1"]);
    const [now] = await suite.db.sql<{ now: number }>(`SELECT ${NOW_MS_SQL} AS now`);
    expect(Number(now?.now)).toBeGreaterThanOrEqual(Math.max(...rows.map((r) => Number(r.due))));
  });

  it("stores none of them when one is invalid, with or without a transaction", async () => {
    const topic = "aa.after.bad";
    const messages = [
      { id: "ok-1", partitionKey: "p", payload: "1" },
      { id: "ok-2", partitionKey: "q", payload: "2" },
      { id: "", partitionKey: "p", payload: "3" },
    ];
    const err = await expectCode(suite.queue.publisher.publishAfter(topic, messages, 60_000), "INVALID_ARGUMENT");
    expect(err.message).toMatch(/messages\[2\]\.id/);
    await expectCode(
      suite.queue.publisher.publishAfter(topic, [messages[0], null, messages[1]] as never, 60_000),
      "INVALID_ARGUMENT",
    );
    await expectCode(
      suite.queue.transaction(async (tx) => {
        await tx.execute("INSERT INTO app_rows (id) VALUES ('after-bad')");
        await suite.queue.publisher.publishAfter(topic, messages, 60_000, { tx });
      }),
      "INVALID_ARGUMENT",
    );
    expect(await messageIds(topic)).toEqual([]);
    expect(await appRows()).not.toContain("after-bad");
    const heads = await suite.db.sql("SELECT head_seq FROM queue_partitions WHERE topic = ?", [topic]);
    expect(heads).toEqual([]);
  });

  it("stores them with the caller's transaction, and none when it rolls back", async () => {
    const topic = "aa.after.tx";
    const batch = (tag: string) => [
      { id: `${tag}-1`, partitionKey: "p", payload: "1" },
      { id: `${tag}-2`, partitionKey: "q", payload: "2" },
      { id: `${tag}-3`, partitionKey: "p", payload: "3" },
    ];
    const err = await suite.queue
      .transaction(async (tx) => {
        await suite.queue.publisher.publishAfter(topic, batch("dropped"), 60_000, { tx });
        throw new Abort("not these");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Abort);
    expect(await messageIds(topic)).toEqual([]);
    await suite.queue.transaction(async (tx) => {
      await tx.execute("INSERT INTO app_rows (id) VALUES ('after-tx')");
      await suite.queue.publisher.publishAfter(topic, batch("kept"), 60_000, { tx });
    });
    expect(await messageIds(topic)).toEqual(["kept-1", "kept-3", "kept-2"]);
    expect(await appRows()).toContain("after-tx");
  });
});
