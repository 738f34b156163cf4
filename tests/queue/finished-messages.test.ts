// How the console reads a message a group has finished: its real attempt
// count and whether it was acked or dead-lettered, both while its delivery
// row is there and after garbage collection took it (a second group that has
// not read the topic keeps the message itself in the log).
import { describe, expect, it } from "vitest";
import type { MessageState, SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, until } from "@/tests/helpers/wait";

const suite = queueSuite("finished");

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.queue.subscriber.subscribe(topic, {
    subscriberName: "worker",
    consumerGroup: "g",
    pollIntervalMs: 10,
    batchSize: 1,
    ...opts,
  });
  suite.track(sub);
  return sub[Symbol.asyncIterator]();
}

/** A topic whose messages stay in the log: group `slow` is registered and never reads. */
async function topicWithSlowGroup(topic: string, ids: string[]) {
  await suite.db.sql("INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES ('slow', ?, 0)", [topic]);
  await suite.queue.publisher.publish(
    topic,
    ids.map((id) => ({ id, partitionKey: "k", payload: id })),
  );
}

async function collectGroupDeliveries(topic: string) {
  await suite.queue.admin.collectGarbage();
  const [left] = await suite.db.sql<{ n: number }>(
    "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g'",
    [topic],
  );
  expect(Number(left?.n)).toBe(0);
}

/** [id, state, attempts] of every message of the topic in group g, newest first, as the topic page lists them. */
async function listed(topic: string): Promise<Array<[string, MessageState | null, number]>> {
  const page = await suite.queue.inspect.listMessages(topic, { group: "g", state: "all", limit: 50 });
  return page.messages.map((m) => [m.id, m.state, m.attempts]);
}

/** The state and attempts the message detail and the attempt history give for group g. */
async function detailOf(topic: string, seq: number) {
  const m = await suite.queue.inspect.getMessage(topic, "k", seq);
  const a = await suite.queue.inspect.getAttempts(topic, "k", seq);
  const inDetail = m?.groups.find((x) => x.group === "g");
  const inHistory = a?.groups.find((x) => x.group === "g");
  return {
    detail: [inDetail?.state, inDetail?.attempts],
    history: [inHistory?.state, inHistory?.attempts],
  };
}

describe("a finished message in the topic's list", () => {
  it("shows its real attempts after garbage collection took its delivery row", async () => {
    const topic = "fin.attempts";
    await topicWithSlowGroup(topic, ["retried"]);
    const it = subscribe(topic);
    await (await nextDelivery(it)).nack({ reason: "try again" });
    await (await nextDelivery(it, "the retry")).ack();
    expect(await listed(topic)).toEqual([["retried", "done", 2]]);

    await collectGroupDeliveries(topic);
    expect(await listed(topic)).toEqual([["retried", "done", 2]]);
  });
});

describe("a dead-lettered message", () => {
  it("reads dead, not done, in the list, its Dead filter, the detail and the history, before and after garbage collection", async () => {
    const topic = "fin.rejected";
    await topicWithSlowGroup(topic, ["acked", "rejected"]);
    const it = subscribe(topic);
    await (await nextDelivery(it)).ack();
    await (await nextDelivery(it)).reject("malformed payload");
    const expected = [
      ["rejected", "dead", 1],
      ["acked", "done", 1],
    ];
    expect(await listed(topic)).toEqual(expected);
    expect(await detailOf(topic, 2)).toEqual({ detail: ["dead", 1], history: ["dead", 1] });
    const only = async (state: "done" | "dead") =>
      (await suite.queue.inspect.listMessages(topic, { group: "g", state, limit: 50 })).messages.map((m) => m.id);
    expect(await only("done")).toEqual(["acked"]);
    expect(await only("dead")).toEqual(["rejected"]);

    await collectGroupDeliveries(topic);
    expect(await listed(topic)).toEqual(expected);
    expect(await only("done")).toEqual(["acked"]);
    expect(await only("dead")).toEqual(["rejected"]);
    expect(await detailOf(topic, 2)).toEqual({ detail: ["dead", 1], history: ["dead", 1] });
    expect(await detailOf(topic, 1)).toEqual({ detail: ["done", 1], history: ["done", 1] });
  });

  it("reads dead when its last visibility timeout dead-lettered it, after garbage collection too", async () => {
    const topic = "fin.timeout";
    await topicWithSlowGroup(topic, ["lost"]);
    const it = subscribe(topic, { visibilityTimeoutMs: 200, maxAttempts: 1 });
    await nextDelivery(it);
    // Asking for the next delivery keeps the subscriber fetching: the fetch after the timeout dead-letters it.
    void it.next();
    await until(async () => (await listed(topic))[0]?.[1] === "dead", "the dead letter");
    expect(await listed(topic)).toEqual([["lost", "dead", 1]]);

    await collectGroupDeliveries(topic);
    expect(await listed(topic)).toEqual([["lost", "dead", 1]]);
    expect(await detailOf(topic, 1)).toEqual({ detail: ["dead", 1], history: ["dead", 1] });
  });
});
