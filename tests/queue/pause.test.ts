// Pausing a consumer group: its subscribers stop getting rows (while still
// heartbeating), deliveries already out settle as usual, other groups of the
// topic go on, and resuming lets the group catch up. Against the real database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NOW_MS_SQL } from "@/db/clock";
import { createQueue, type Delivery, type Queue, QueueError, type QueueEvent } from "@/server/queue";
import { queueSuite } from "@/tests/helpers/queue-suite";
import { nextDelivery, take, until } from "@/tests/helpers/wait";

const suite = queueSuite("pause");

let queue: Queue;
const polls = new Map<string, number>();
beforeAll(() => {
  queue = createQueue({
    url: suite.db.url,
    onEvent: (e: QueueEvent) => {
      if (e.type === "poll") polls.set(`${e.group}/${e.topic}`, (polls.get(`${e.group}/${e.topic}`) ?? 0) + 1);
    },
  });
});
afterAll(async () => {
  await queue.close();
});

function subscribe(topic: string, group: string, batchSize = 10) {
  const sub = queue.subscriber.subscribe(topic, {
    subscriberName: `s-${group}`,
    consumerGroup: group,
    pollIntervalMs: 20,
    leaseRenewalIntervalMs: 200,
    batchSize,
  });
  suite.track(sub);
  return sub;
}

const messages = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, partitionKey: `p${i % 3}`, payload: String(i) }));

async function deliveryRows(topic: string, group: string): Promise<number> {
  const [r] = await suite.db.sql<{ n: number }>(
    "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = ? AND consumer_group = ?",
    [topic, group],
  );
  return Number(r?.n);
}

async function leasesHeld(topic: string, group: string): Promise<number> {
  const [r] = await suite.db.sql<{ n: number }>(
    `SELECT COUNT(*) AS n FROM queue_group_partitions
     WHERE topic = ? AND consumer_group = ? AND lease_owner IS NOT NULL AND lease_expires_at >= ${NOW_MS_SQL}`,
    [topic, group],
  );
  return Number(r?.n);
}

async function heartbeatOf(group: string, topic: string): Promise<number> {
  const [r] = await suite.db.sql<{ at: number }>(
    "SELECT MAX(heartbeat_at) AS at FROM queue_subscribers WHERE consumer_group = ? AND topic = ?",
    [group, topic],
  );
  return Number(r?.at ?? 0);
}

describe("pause and resume", () => {
  it("a paused group gets no deliveries while another group of the same topic does; resumed, it catches up", async () => {
    const topic = "pause.groups";
    const paused = subscribe(topic, "paused");
    const running = subscribe(topic, "running");
    // Both groups registered (and polling) before the pause.
    await queue.publisher.publish(topic, messages(3, "warm"));
    await Promise.all([take(paused, 3), take(running, 3)]);

    const audited: number[] = [];
    const p = await queue.admin.pauseGroup("paused", topic, {
      by: "alice",
      within: async (_c, n) => {
        audited.push(n);
      },
    });
    expect(p).toMatchObject({ paused: true, pausedBy: "alice", changed: true });
    expect(audited).toEqual([1]);
    const shown = (await queue.inspect.listTopics()).find((t) => t.topic === topic);
    expect(shown?.groups.find((g) => g.group === "paused")).toMatchObject({ pausedBy: "alice", pausedAt: p.pausedAt });
    expect(shown?.groups.find((g) => g.group === "running")).toMatchObject({ pausedBy: null, pausedAt: null });

    const pausedIt = paused[Symbol.asyncIterator]();
    const waiting = pausedIt.next();
    let pausedGot: Delivery | undefined;
    void waiting.then((r) => {
      if (!r.done) pausedGot = r.value;
    });
    const rowsBefore = await deliveryRows(topic, "paused");
    await queue.publisher.publish(topic, messages(12, "m"));
    const got = await take(running, 12);
    expect(got.map((d) => d.message.id).sort()).toEqual(
      messages(12, "m")
        .map((m) => m.id)
        .sort(),
    );

    // The paused subscriber keeps polling and heartbeating, and gets nothing.
    const key = `paused/${topic}`;
    const pollsNow = polls.get(key) ?? 0;
    const beatNow = await heartbeatOf("paused", topic);
    await until(
      async () => (polls.get(key) ?? 0) >= pollsNow + 10 && (await heartbeatOf("paused", topic)) > beatNow,
      "ten more polls and a heartbeat of the paused subscriber",
    );
    expect(pausedGot).toBeUndefined();
    expect(await deliveryRows(topic, "paused")).toBe(rowsBefore);
    expect(await leasesHeld(topic, "paused")).toBe(0);

    const r = await queue.admin.resumeGroup("paused", topic);
    expect(r).toMatchObject({ paused: false, pausedAt: null, pausedBy: null, changed: true });
    const first = await waiting;
    if (first.done) throw new Error("the paused subscription ended");
    await first.value.ack();
    const rest = await take(paused, 11);
    expect([first.value, ...rest].map((d) => d.message.id).sort()).toEqual(
      messages(12, "m")
        .map((m) => m.id)
        .sort(),
    );
  });

  it("lets deliveries already out be settled while the group is paused, and fetches nothing more", async () => {
    const topic = "pause.inflight";
    // One partition, batches of one: the delivery out is all the subscriber has fetched.
    await queue.publisher.publish(
      topic,
      ["x0", "x1", "x2"].map((id) => ({ id, partitionKey: "k", payload: id })),
    );
    const sub = subscribe(topic, "g", 1);
    const it = sub[Symbol.asyncIterator]();
    const out = await nextDelivery(it);
    await queue.admin.pauseGroup("g", topic, { by: "cli:root" });
    await out.ack();
    const [row] = await suite.db.sql<{ state: number }>(
      "SELECT state FROM queue_deliveries WHERE topic = ? AND consumer_group = 'g'",
      [topic],
    );
    expect(Number(row?.state)).toBe(1);
    // The settle's partition is fetched again, learns the pause and gives its lease back.
    void it.next();
    await until(async () => (await leasesHeld(topic, "g")) === 0, "the lease to be given back");
    expect(await deliveryRows(topic, "g")).toBe(1);
  });

  it("counts a repeated pause or resume as no change, audits each, and refuses an unknown group", async () => {
    const topic = "pause.idempotent";
    await queue.publisher.publish(topic, messages(1, "y"));
    await take(subscribe(topic, "g"), 1);
    const counts: number[] = [];
    const within = async (_c: unknown, n: number) => {
      counts.push(n);
    };
    await queue.admin.pauseGroup("g", topic, { by: "bob", within });
    const again = await queue.admin.pauseGroup("g", topic, { by: "carol", within });
    expect(again).toMatchObject({ paused: true, pausedBy: "bob", changed: false });
    await queue.admin.resumeGroup("g", topic, { within });
    await queue.admin.resumeGroup("g", topic, { within });
    expect(counts).toEqual([1, 0, 1, 0]);
    await expect(queue.admin.pauseGroup("nobody", topic, { by: "bob" })).rejects.toSatisfy(
      (e) => e instanceof QueueError && e.code === "NOT_FOUND",
    );
  });

  it("rolls the pause back when the audit write fails", async () => {
    const topic = "pause.rollback";
    await queue.publisher.publish(topic, messages(1, "z"));
    await take(subscribe(topic, "g"), 1);
    await expect(
      queue.admin.pauseGroup("g", topic, {
        by: "bob",
        within: async () => {
          throw new Error("audit failed");
        },
      }),
    ).rejects.toThrow("audit failed");
    const t = (await queue.inspect.listTopics()).find((x) => x.topic === topic);
    expect(t?.groups[0]?.pausedAt).toBeNull();
  });
});
