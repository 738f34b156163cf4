import { describe, expect, it } from "vitest";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { take } from "@/tests/helpers/wait";

const suite = queueSuite("roundtrip");

const fast = { pollIntervalMs: 20 };

describe("round trip", () => {
  it("delivers id, payload bytes, partition key and metadata as published", async () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    await suite.queue.publisher.publish("rt.bytes", [
      { id: "m1", partitionKey: "p1", payload: bytes, metadata: { traceId: "abc", "x-y": "ü" } },
      { id: "m2", partitionKey: "p1", payload: "héllo" },
    ]);
    const sub = suite.queue.subscriber.subscribe("rt.bytes", { subscriberName: "s", consumerGroup: "g", ...fast });
    const got = await take(sub, 2);
    await sub.close();
    const [a, b] = got;
    expect(a?.message.id).toBe("m1");
    expect(a?.message.partitionKey).toBe("p1");
    expect(Buffer.isBuffer(a?.message.payload)).toBe(true);
    expect([...(a?.message.payload ?? [])]).toEqual([...bytes]);
    expect(a?.message.metadata).toEqual({ traceId: "abc", "x-y": "ü" });
    expect(a?.attempt).toBe(1);
    expect(a?.topic).toBe("rt.bytes");
    expect(typeof a?.message.publishedAt).toBe("number");
    expect(b?.message.payload.toString("utf8")).toBe("héllo");
    expect(b?.message.metadata).toEqual({});
    expect(a?.failure).toBeUndefined();
  });

  it("keeps partition keys and ids that differ only in case apart", async () => {
    await suite.queue.publisher.publish("rt.case", [
      { id: "a", partitionKey: "K", payload: "1" },
      { id: "A", partitionKey: "K", payload: "2" },
      { id: "a", partitionKey: "k", payload: "3" },
    ]);
    const sub = suite.queue.subscriber.subscribe("rt.case", { subscriberName: "s", consumerGroup: "g", ...fast });
    const got = await take(sub, 3);
    await sub.close();
    expect(got.map((d) => d.message.payload.toString()).sort()).toEqual(["1", "2", "3"]);
  });
});
