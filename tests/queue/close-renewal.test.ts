// A lease renewal that is in flight when a subscription closes must not bring
// the subscriber back: its heartbeat, finding the row deleted by close,
// re-registered it, leaving a subscriber row that counted as live (halving
// the others' fair share) and never went away. Found by fault scenario 11.
import { describe, expect, it } from "vitest";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("closerenew");

describe("close during a lease renewal", () => {
  it("leaves no subscriber row behind, however the renewal and the close interleave", async () => {
    const topic = "close.renew";
    await suite.queue.publisher.publish(topic, { id: "x", partitionKey: "P", payload: "x" });
    for (let i = 0; i < 300; i++) {
      // Renewing every 10 ms: a renewal is often in flight when close unregisters.
      const sub = suite.queue.subscriber.subscribe(topic, {
        subscriberName: `s${i}`,
        consumerGroup: "g",
        leaseRenewalIntervalMs: 10,
        pollIntervalMs: 5,
        closeTimeoutMs: 0,
      });
      const next = sub[Symbol.asyncIterator]().next();
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      await sub.close();
      await next;
    }
    expect(await suite.db.sql("SELECT subscriber_name FROM queue_subscribers WHERE consumer_group = 'g'")).toEqual([]);
  });
});
