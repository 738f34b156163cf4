// Bad input is refused at the call with INVALID_ARGUMENT, names the offending
// field, and leaves the database exactly as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, type Message, type Queue, QueueError } from "@/server/queue";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";

let db: TestDatabase;
let queue: Queue;

const MAX_PAYLOAD = 1024;

beforeAll(async () => {
  db = await freshDatabase("validation");
  queue = createQueue({ url: db.url, maxPayloadBytes: MAX_PAYLOAD });
  // A row to start from, so "nothing written" is not just "the tables are empty".
  await queue.publisher.publish("val.seed", { id: "seed", partitionKey: "p", payload: "seed" });
});
afterAll(async () => {
  await queue.close();
  await db.drop();
});

interface Snapshot {
  messages: number;
  partitions: number;
  headSeqs: number;
  groups: number;
  subscribers: number;
}

async function snapshot(): Promise<Snapshot> {
  const [row] = await db.sql<Record<keyof Snapshot, number | string | null>>(
    `SELECT (SELECT COUNT(*) FROM queue_messages) AS messages,
            (SELECT COUNT(*) FROM queue_partitions) AS partitions,
            (SELECT COALESCE(SUM(head_seq), 0) FROM queue_partitions) AS headSeqs,
            (SELECT COUNT(*) FROM queue_groups) AS groups,
            (SELECT COUNT(*) FROM queue_subscribers) AS subscribers`,
  );
  return {
    messages: Number(row?.messages),
    partitions: Number(row?.partitions),
    headSeqs: Number(row?.headSeqs),
    groups: Number(row?.groups),
    subscribers: Number(row?.subscribers),
  };
}

/** Runs `call`, which must fail with INVALID_ARGUMENT naming `field`, and checks nothing was written. */
async function expectInvalid(call: () => unknown, field: RegExp): Promise<void> {
  const before = await snapshot();
  const p = (async () => call())();
  await expect(p).rejects.toThrow(field);
  await expect(p).rejects.toBeInstanceOf(QueueError);
  await expect(p).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  expect(await snapshot()).toEqual(before);
}

const ok = (id: string, partitionKey = "fresh"): Message => ({ id, partitionKey, payload: "x" });

describe("publish validation", () => {
  it("accepts a valid publish and the snapshot sees it (control)", async () => {
    const before = await snapshot();
    await queue.publisher.publish("val.control", ok("c1", "control-p"));
    const after = await snapshot();
    expect(after.messages).toBe(before.messages + 1);
    expect(after.partitions).toBe(before.partitions + 1);
    expect(after.headSeqs).toBe(before.headSeqs + 1);
  });

  it("refuses an empty topic", async () => {
    await expectInvalid(() => queue.publisher.publish("", ok("t-empty")), /topic/);
  });

  it.each(["has space", "semi;colon", "quote'd", "star*", "tópico", "new\nline"])(
    "refuses the topic %j with illegal characters",
    async (topic) => {
      await expectInvalid(() => queue.publisher.publish(topic, ok("t-illegal")), /topic/);
    },
  );

  it("refuses an id over 255 characters, and accepts exactly 255", async () => {
    await expectInvalid(() => queue.publisher.publish("val.id", ok("i".repeat(256), "long-id")), /\bid\b/);
    await queue.publisher.publish("val.id", ok("i".repeat(255), "id-255"));
    const rows = await db.sql<{ n: number }>(
      "SELECT CHAR_LENGTH(message_id) AS n FROM queue_messages WHERE topic = 'val.id' AND partition_key = 'id-255'",
    );
    expect(rows.map((r) => Number(r.n))).toEqual([255]);
  });

  it("refuses a partition key over 255 characters, and accepts exactly 255", async () => {
    await expectInvalid(() => queue.publisher.publish("val.pk", ok("pk-long", "k".repeat(256))), /partitionKey/);
    await queue.publisher.publish("val.pk", ok("pk-255", "k".repeat(255)));
    const rows = await db.sql<{ n: number }>(
      "SELECT CHAR_LENGTH(partition_key) AS n FROM queue_messages WHERE topic = 'val.pk'",
    );
    expect(rows.map((r) => Number(r.n))).toEqual([255]);
  });

  it("refuses an empty id", async () => {
    await expectInvalid(() => queue.publisher.publish("val.id", ok("", "empty-id")), /\bid\b/);
  });

  it("refuses an empty partition key", async () => {
    await expectInvalid(() => queue.publisher.publish("val.pk", ok("pk-empty", "")), /partitionKey/);
  });

  it("refuses a payload over maxPayloadBytes, counted in bytes, and accepts exactly the limit", async () => {
    await expectInvalid(
      () =>
        queue.publisher.publish("val.payload", {
          id: "big",
          partitionKey: "big",
          payload: "x".repeat(MAX_PAYLOAD + 1),
        }),
      /payload/,
    );
    await expectInvalid(
      () =>
        queue.publisher.publish("val.payload", {
          id: "big-bytes",
          partitionKey: "big-bytes",
          payload: new Uint8Array(MAX_PAYLOAD + 1),
        }),
      /payload/,
    );
    // 600 characters, 1200 bytes in UTF-8: the limit is on bytes.
    await expectInvalid(
      () => queue.publisher.publish("val.payload", { id: "wide", partitionKey: "wide", payload: "é".repeat(600) }),
      /payload/,
    );
    await queue.publisher.publish("val.payload", {
      id: "at-limit",
      partitionKey: "at-limit",
      payload: "x".repeat(MAX_PAYLOAD),
    });
    const rows = await db.sql<{ n: number }>(
      "SELECT LENGTH(payload) AS n FROM queue_messages WHERE topic = 'val.payload'",
    );
    expect(rows.map((r) => Number(r.n))).toEqual([MAX_PAYLOAD]);
  });

  it.each([
    ["a number", 42],
    ["an object", { text: "hi" }],
    ["null", null],
    ["undefined", undefined],
    ["an array of numbers", [1, 2, 3]],
  ])("refuses a payload that is %s", async (_what, payload) => {
    await expectInvalid(
      () =>
        queue.publisher.publish("val.payload", { id: "wrong", partitionKey: "wrong", payload } as unknown as Message),
      /payload/,
    );
  });

  it.each([
    ["a number", { attempt: 1 }],
    ["null", { owner: null }],
    ["a nested object", { nested: { a: "b" } }],
    ["a boolean", { flag: true }],
  ])("refuses metadata with %s as a value", async (_what, metadata) => {
    await expectInvalid(
      () =>
        queue.publisher.publish("val.meta", {
          id: "meta",
          partitionKey: "meta",
          payload: "x",
          metadata,
        } as unknown as Message),
      /metadata/,
    );
  });

  it("refuses more than 1000 messages in one publish, and accepts exactly 1000", async () => {
    const many = (n: number, p: string) => Array.from({ length: n }, (_, i) => ok(`m${i}`, p));
    await expectInvalid(() => queue.publisher.publish("val.batch", many(1001, "too-many")), /1000/);
    await queue.publisher.publish("val.batch", many(1000, "just-enough"));
    const [row] = await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM queue_messages WHERE topic = 'val.batch'");
    expect(Number(row?.n)).toBe(1000);
  });

  it("writes none of a batch that holds one bad message", async () => {
    const batch: Message[] = [
      ok("good-1", "batch-a"),
      ok("good-2", "batch-b"),
      { id: "bad", partitionKey: "batch-c", payload: "x", metadata: { n: 1 } } as unknown as Message,
      ok("good-3", "batch-a"),
    ];
    await expectInvalid(() => queue.publisher.publish("val.atomic", batch), /messages\[2\]\.metadata/);
    // The message at fault is named by its index, whatever field it is.
    await expectInvalid(
      () => queue.publisher.publish("val.atomic", [ok("good-1", "batch-a"), ok("good-2", "k".repeat(300))]),
      /messages\[1\]\.partitionKey/,
    );
    const rows = await db.sql("SELECT 1 FROM queue_messages WHERE topic = 'val.atomic'");
    expect(rows).toHaveLength(0);
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a string", "1000"],
  ])("refuses publishAfter with %s as the delay", async (_what, delay) => {
    await expectInvalid(
      () => queue.publisher.publishAfter("val.after", ok("after", "after"), delay as number),
      /delayMs/,
    );
  });

  it("refuses publishAfter with a bad message, naming the field", async () => {
    await expectInvalid(() => queue.publisher.publishAfter("val.after", ok("", "after"), 1000), /\bid\b/);
    await expectInvalid(() => queue.publisher.publishAfter("bad topic", ok("x", "after"), 1000), /topic/);
  });
});

describe("createQueue validation", () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ["maxPayloadBytes 0", { maxPayloadBytes: 0 }, /maxPayloadBytes/],
    ["a url that is not mysql://", { url: "postgres://localhost/x" }, /url/],
    ["an unknown option key", { maxPayloadSize: 10 }, /maxPayloadSize/],
  ])("refuses %s at createQueue()", (_what, options, field) => {
    let caught: unknown;
    try {
      void createQueue({ url: db.url, ...options } as never).close();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QueueError);
    expect(caught).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((caught as Error).message).toMatch(field);
  });
});

describe("subscribe validation", () => {
  const base = { subscriberName: "s", consumerGroup: "g", pollIntervalMs: 10 };

  function expectInvalidSubscribe(options: Record<string, unknown>, field: RegExp, topic = "val.sub") {
    let caught: unknown;
    try {
      const sub = queue.subscriber.subscribe(topic, options as never);
      // Should never get here; close what was made so nothing leaks.
      void sub.close();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(QueueError);
    expect(caught).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect((caught as Error).message).toMatch(field);
  }

  it.each<[string, Record<string, unknown>, RegExp]>([
    ["negative maxAttempts", { ...base, maxAttempts: -1 }, /maxAttempts/],
    ["maxAttempts 0", { ...base, maxAttempts: 0 }, /maxAttempts/],
    ["batchSize 0", { ...base, batchSize: 0 }, /batchSize/],
    [
      "leaseRenewalIntervalMs equal to leaseDurationMs",
      { ...base, leaseRenewalIntervalMs: 1000, leaseDurationMs: 1000 },
      /leaseRenewalIntervalMs/,
    ],
    [
      "leaseRenewalIntervalMs over leaseDurationMs",
      { ...base, leaseRenewalIntervalMs: 2000, leaseDurationMs: 1000 },
      /leaseRenewalIntervalMs/,
    ],
    [
      "leaseRenewalIntervalMs equal to the default leaseDurationMs",
      { ...base, leaseRenewalIntervalMs: 30_000 },
      /leaseRenewalIntervalMs/,
    ],
    ["an unknown option key", { ...base, visibilityTimeoutSeconds: 5 }, /visibilityTimeoutSeconds/],
    ["an empty consumerGroup", { ...base, consumerGroup: "" }, /consumerGroup/],
    ["a missing consumerGroup", { subscriberName: "s" }, /consumerGroup/],
    ["an empty subscriberName", { ...base, subscriberName: "" }, /subscriberName/],
    ["a consumerGroup with illegal characters", { ...base, consumerGroup: "my group" }, /consumerGroup/],
    ["an empty dlq.topicSuffix", { ...base, dlq: { topicSuffix: "" } }, /topicSuffix/],
    // A misspelt DLQ setting must not be dropped silently (the DLQ would go somewhere unexpected).
    ["an unknown key inside dlq", { ...base, dlq: { topicSufix: "_dead" } }, /topicSufix/],
  ])("refuses %s at subscribe() and writes nothing", async (_what, options, field) => {
    const before = await snapshot();
    expectInvalidSubscribe(options, field);
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a bad topic at subscribe()", async () => {
    const before = await snapshot();
    expectInvalidSubscribe(base, /topic/, "");
    expectInvalidSubscribe(base, /topic/, "bad topic");
    expect(await snapshot()).toEqual(before);
  });

  it("accepts the same options once corrected (control)", async () => {
    const sub = queue.subscriber.subscribe("val.sub", {
      ...base,
      maxAttempts: 1,
      batchSize: 1,
      leaseRenewalIntervalMs: 999,
      leaseDurationMs: 1000,
    });
    await sub.close();
  });
});
