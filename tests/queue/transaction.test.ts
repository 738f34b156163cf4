// queue.transaction: publishes, settles and the caller's own writes commit
// together or not at all.
import { beforeAll, describe, expect, it } from "vitest";
import { type Delivery, QueueError } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take } from "@/tests/helpers/wait";

const suite = queueSuite("tx");

beforeAll(async () => {
  await suite.db.sql("CREATE TABLE app_rows (id varchar(32) PRIMARY KEY)");
});

const messageIds = async (topic: string) =>
  (
    await suite.db.sql<{ message_id: string }>("SELECT message_id FROM queue_messages WHERE topic = ? ORDER BY seq", [
      topic,
    ])
  ).map((r) => r.message_id);

const appRows = async () =>
  (await suite.db.sql<{ id: string }>("SELECT id FROM app_rows ORDER BY id")).map((r) => r.id);

class Abort extends Error {}

describe("queue.transaction", () => {
  it("commits a publish with the caller's own write, and rolls both back together", async () => {
    await suite.queue.transaction(async (tx) => {
      await tx.execute("INSERT INTO app_rows (id) VALUES ('kept')");
      await suite.queue.publisher.publish("tx.pub", { id: "kept", partitionKey: "k", payload: "x" }, { tx });
      await suite.queue.publisher.publishAfter("tx.pub", { id: "later", partitionKey: "k", payload: "x" }, 60_000, {
        tx,
      });
    });
    const err = await suite.queue
      .transaction(async (tx) => {
        await tx.execute("INSERT INTO app_rows (id) VALUES ('dropped')");
        await suite.queue.publisher.publish("tx.pub", { id: "dropped", partitionKey: "k", payload: "x" }, { tx });
        throw new Abort("changed my mind");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Abort);
    expect(await messageIds("tx.pub")).toEqual(["kept", "later"]);
    expect(await appRows()).toEqual(["kept"]);
    // The rolled-back publish left no gap in the partition's sequence.
    const [p] = await suite.db.sql<{ head_seq: number }>(
      "SELECT head_seq FROM queue_partitions WHERE topic = 'tx.pub' AND partition_key = 'k'",
    );
    expect(Number(p?.head_seq)).toBe(2);
  });

  it("acks with the caller's write and a publish; a rolled-back ack leaves the delivery to settle again", async () => {
    await suite.queue.publisher.publish("tx.ack", [
      { id: "one", partitionKey: "k", payload: "1" },
      { id: "two", partitionKey: "k", payload: "2" },
    ]);
    const sub = suite.track(
      suite.queue.subscriber.subscribe("tx.ack", { subscriberName: "s", consumerGroup: "g", batchSize: 1 }),
    );
    const [one] = (await take(sub, 1, async () => {})) as [Delivery];
    const rolledBack = await suite.queue
      .transaction(async (tx) => {
        await one.ack({ tx });
        throw new Abort("not now");
      })
      .catch((e: unknown) => e);
    expect(rolledBack).toBeInstanceOf(Abort);
    const [state] = await suite.db.sql<{ state: number }>(
      "SELECT state FROM queue_deliveries WHERE topic = 'tx.ack' AND seq = 1",
    );
    expect(Number(state?.state)).toBe(0);
    // Not settled: the same delivery can be acked now, in a transaction that commits.
    await suite.queue.transaction(async (tx) => {
      await tx.execute("INSERT INTO app_rows (id) VALUES ('after-one')");
      await suite.queue.publisher.publish("tx.next", { id: "follow-up", partitionKey: "k", payload: "x" }, { tx });
      await one.ack({ tx });
    });
    expect(await messageIds("tx.next")).toEqual(["follow-up"]);
    expect(await appRows()).toContain("after-one");
    // batchSize 1: the second message comes only once the first is settled, so this shows the ack took.
    const two = await nextDelivery(sub[Symbol.asyncIterator](), "the second message");
    expect(two.message.id).toBe("two");
    await two.ack();
    await expect(one.ack()).rejects.toMatchObject({ code: "ALREADY_SETTLED" });
  });

  it("rolls back a write made first on tx.connection (the transaction is open before the callback runs)", async () => {
    const err = await suite.queue
      .transaction(async (tx) => {
        await tx.connection.query("INSERT INTO app_rows (id) VALUES ('on-connection')");
        throw new Abort("undo it");
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Abort);
    expect(await appRows()).not.toContain("on-connection");
  });

  it("refuses a tx that is not one of the queue's transactions", async () => {
    const err = await suite.queue.publisher
      .publish("tx.bad", { id: "x", partitionKey: "k", payload: "x" }, { tx: {} as never })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueError);
    expect((err as QueueError).code).toBe("INVALID_ARGUMENT");
    expect(await messageIds("tx.bad")).toEqual([]);
  });
});
