// Attempt history: every fetch of a message by a group is recorded with who
// held it, for how long and how it ended; the record outlives the delivery
// rows until the message itself is collected, and is capped per message.
import { describe, expect, it } from "vitest";
import { ATTEMPT_HISTORY_CAP, type GroupAttempts, type SubscriptionInput } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, until } from "@/tests/helpers/wait";

const suite = queueSuite("attempts");

function subscribe(topic: string, opts: Partial<SubscriptionInput> = {}) {
  const sub = suite.queue.subscriber.subscribe(topic, {
    subscriberName: "worker-a",
    consumerGroup: "g",
    pollIntervalMs: 10,
    batchSize: 1,
    ...opts,
  });
  suite.track(sub);
  return { sub, it: sub[Symbol.asyncIterator]() };
}

async function attemptsOf(topic: string, seq = 1, group = "g"): Promise<GroupAttempts> {
  const a = await suite.queue.inspect.getAttempts(topic, "k", seq);
  const g = a?.groups.find((x) => x.group === group);
  if (!g) throw new Error(`no attempts of ${topic}#${seq} for ${group}`);
  return g;
}

const publishOne = (topic: string, id = "m") =>
  suite.queue.publisher.publish(topic, { id, partitionKey: "k", payload: "x" });

describe("attempt history", () => {
  it("shows an acked message's attempt with its subscriber, times and outcome", async () => {
    const topic = "att.acked";
    await publishOne(topic);
    const { it } = subscribe(topic);
    const d = await nextDelivery(it);
    const open = await attemptsOf(topic);
    expect(open.state).toBe("in_flight");
    expect(open.history.map((h) => h.outcome)).toEqual(["in_flight"]);
    expect(open.visibleUntil).toBeGreaterThan(open.history[0]?.fetchedAt ?? Number.POSITIVE_INFINITY);
    await d.ack();

    const g = await attemptsOf(topic);
    expect(g.state).toBe("done");
    expect(g.attempts).toBe(1);
    expect(g.history).toHaveLength(1);
    const [a] = g.history;
    expect(a).toMatchObject({ attempt: 1, subscriber: "worker-a", outcome: "acked", reason: null });
    expect(a?.endedAt).toBeGreaterThanOrEqual(a?.fetchedAt ?? Number.POSITIVE_INFINITY);
    expect(a?.heldMs).toBe((a?.endedAt ?? 0) - (a?.fetchedAt ?? 0));
    expect(g.nextAttemptAt).toBeNull();
  });

  it("keeps a finished message's real attempts after garbage collection took its delivery rows", async () => {
    const topic = "att.collected";
    // A second group that has not read the message keeps it in the log while g's delivery rows go.
    await suite.db.sql("INSERT INTO queue_groups (consumer_group, topic, created_at) VALUES ('slow', ?, 0)", [topic]);
    await publishOne(topic);
    const { it } = subscribe(topic);
    const first = await nextDelivery(it);
    await first.nack({ reason: "try again" });
    await (await nextDelivery(it)).ack();
    await suite.queue.admin.collectGarbage();
    const [rows] = await suite.db.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g'",
      [topic],
    );
    expect(Number(rows?.n)).toBe(0);

    const m = await suite.queue.inspect.getMessage(topic, "k", 1);
    const g = m?.groups.find((x) => x.group === "g");
    expect(g?.state).toBe("done");
    expect(g?.attempts).toBe(2);
    expect(g?.firstDeliveredAt).not.toBeNull();
    const h = await attemptsOf(topic);
    expect(h.attempts).toBe(2);
    expect(h.history.map((x) => x.outcome)).toEqual(["nacked", "acked"]);

    // Once every group has passed the message, its attempts go with it.
    await suite.db.sql("DELETE FROM queue_groups WHERE consumer_group = 'slow' AND topic = ?", [topic]);
    await suite.queue.admin.collectGarbage();
    const [left] = await suite.db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM queue_attempts WHERE topic = ?", [
      topic,
    ]);
    expect(Number(left?.n)).toBe(0);
  });

  it("shows a nacked-then-acked message's two attempts with the nack's reason, and the retry's due time", async () => {
    const topic = "att.nacked";
    await publishOne(topic);
    const { it } = subscribe(topic);
    const first = await nextDelivery(it);
    await first.nack({ reason: "database unavailable", requeueAfterMs: 1_500 });

    const retrying = await attemptsOf(topic);
    expect(retrying.state).toBe("retrying");
    const nacked = retrying.history[0];
    expect(nacked).toMatchObject({ attempt: 1, outcome: "nacked", reason: "database unavailable" });
    // The next attempt is due when the nack's delay runs out, on the database's clock.
    expect(retrying.nextAttemptAt).toBeGreaterThanOrEqual((nacked?.endedAt ?? 0) + 1_500);
    expect(retrying.nextAttemptAt).toBeLessThanOrEqual((nacked?.endedAt ?? 0) + 1_600);

    const second = await nextDelivery(it, "the retry");
    expect(second.attempt).toBe(2);
    await second.ack();
    const g = await attemptsOf(topic);
    expect(g.attempts).toBe(2);
    expect(g.history.map((h) => [h.attempt, h.outcome, h.reason])).toEqual([
      [1, "nacked", "database unavailable"],
      [2, "acked", null],
    ]);
    expect(g.nextAttemptAt).toBeNull();
  });

  it("shows an attempt whose visibility timeout expired as expired, ending at its timeout", async () => {
    const topic = "att.expired";
    await publishOne(topic);
    const { it } = subscribe(topic, { visibilityTimeoutMs: 300 });
    const lost = await nextDelivery(it);
    // Not settled: once the database's clock passes the timeout, the open attempt reads as expired.
    const before = await until(async () => {
      const g = await attemptsOf(topic);
      return g.history[0]?.outcome === "expired" ? g : undefined;
    }, "the timeout to pass");
    expect(before.history).toHaveLength(1);

    const again = await nextDelivery(it, "the redelivery");
    expect(again.attempt).toBe(2);
    await again.ack();
    await expect(lost.ack()).rejects.toMatchObject({ code: "DELIVERY_EXPIRED" });
    const g = await attemptsOf(topic);
    expect(g.history.map((h) => [h.attempt, h.outcome])).toEqual([
      [1, "expired"],
      [2, "acked"],
    ]);
    const expired = g.history[0];
    // The attempt's start and the delivery's timeout are stamped by two statements of one
    // round trip, so by the database's clock they may be a millisecond or two apart.
    expect(expired?.heldMs).toBeGreaterThanOrEqual(295);
    expect(expired?.heldMs).toBeLessThan(1_000);
  });

  it("records a rejection as dead-lettered with its reason, and a last timeout that dead-letters as expired", async () => {
    const topic = "att.dead";
    await publishOne(topic, "rejected");
    const { it } = subscribe(topic);
    await (await nextDelivery(it)).reject("malformed payload");
    const g = await attemptsOf(topic);
    expect(g.history.map((h) => [h.outcome, h.reason])).toEqual([["dead_lettered", "malformed payload"]]);

    const timedOut = "att.dead.timeout";
    await publishOne(timedOut);
    const s = subscribe(timedOut, { visibilityTimeoutMs: 200, maxAttempts: 1, consumerGroup: "g" });
    await nextDelivery(s.it);
    // Asking for the next delivery keeps the subscriber fetching: the fetch after the timeout dead-letters it.
    void s.it.next();
    const dead = await until(async () => {
      const x = await attemptsOf(timedOut);
      return x.history[0]?.reason ? x : undefined;
    }, "the dead letter");
    expect(dead.history).toHaveLength(1);
    expect(dead.history[0]?.outcome).toBe("expired");
    expect(dead.history[0]?.reason).toMatch(/visibility timeout of 200 ms expired on attempt 1 of 1/);
  });

  it("records deliveries handed back on close as handed back, and the next fetch as the same attempt", async () => {
    const topic = "att.handback";
    await suite.queue.publisher.publish(
      topic,
      ["a", "b", "c"].map((id) => ({ id, partitionKey: "k", payload: id })),
    );
    const first = subscribe(topic, { batchSize: 3 });
    await (await nextDelivery(first.it)).ack();
    await first.sub.close();
    const handed = await attemptsOf(topic, 2);
    expect(handed.history.map((h) => [h.attempt, h.outcome])).toEqual([[1, "handed_back"]]);

    const second = subscribe(topic, { subscriberName: "worker-b" });
    const d = await nextDelivery(second.it);
    expect(d.message.id).toBe("b");
    expect(d.attempt).toBe(1);
    await d.ack();
    const g = await attemptsOf(topic, 2);
    expect(g.history.map((h) => [h.attempt, h.outcome, h.subscriber])).toEqual([
      [1, "handed_back", "worker-a"],
      [1, "acked", "worker-b"],
    ]);
  });

  it(`keeps the last ${ATTEMPT_HISTORY_CAP} attempts of a message`, async () => {
    const topic = "att.cap";
    await publishOne(topic);
    const total = ATTEMPT_HISTORY_CAP + 5;
    const { it } = subscribe(topic, { maxAttempts: total + 1 });
    for (let i = 1; i <= total; i++) {
      const d = await nextDelivery(it, `attempt ${i}`);
      await d.nack({ reason: `failure ${i}` });
    }
    const g = await attemptsOf(topic);
    expect(g.attempts).toBe(total);
    expect(g.truncated).toBe(true);
    expect(g.history).toHaveLength(ATTEMPT_HISTORY_CAP);
    expect(g.history[0]?.attempt).toBe(6);
    expect(g.history.at(-1)).toMatchObject({ attempt: total, outcome: "nacked", reason: `failure ${total}` });
  });

  it("drops a partition's attempts above a reset offset with its delivery rows", async () => {
    const topic = "att.reset";
    await publishOne(topic);
    const { it, sub } = subscribe(topic);
    await (await nextDelivery(it)).ack();
    await sub.close();
    await suite.queue.admin.resetOffset("g", topic, "k", 0);
    expect((await attemptsOf(topic)).history).toEqual([]);
    const again = subscribe(topic);
    const d = await nextDelivery(again.it);
    expect(d.attempt).toBe(1);
    await d.ack();
    expect((await attemptsOf(topic)).history.map((h) => [h.attempt, h.outcome])).toEqual([[1, "acked"]]);
  });
});
