// Subscriptions opened and closed in a tight loop while messages flow: closed
// idle, closed in the middle of a fetch, closed with deliveries in hand (acked
// while the close waits, acked after it, or abandoned), and left through the
// iterator's return. Afterwards no lease may be held, no subscriber row left,
// no timer or connection leaked, and every published message acked.

import { faultScenario, type Harness } from "@/faults/harness/harness";
import { refTimers, watchTimers } from "@/faults/support/timers";
import type { ScenarioOptions, ScenarioResult } from "@/faults/types";
import { missed, pause, until } from "@/faults/wait";
import { createQueue, type Delivery, QueueError, type Subscription } from "@/server/queue";
import type { QueueDelivery } from "@/server/queue/delivery";

const NAME = "11-start-stop";
const TOPIC = "startstop";
const GROUP = "startstop";
const PARTITIONS = 4;
const LANES = 2;
const VISIBILITY_MS = 500;
const CONNECTION_LIMIT = 10;
/** Timers the queue may keep while open, whatever the number of cycles: the pool's idle-connection timer. */
const POOL_TIMERS = 2;

const VARIANTS = ["idle", "fetching", "ackDuringClose", "ackAfterClose", "abandon", "return"] as const;
type Variant = (typeof VARIANTS)[number];

type Next = Promise<IteratorResult<Delivery>>;

async function nextOrTimeout(p: Next, ms: number): Promise<IteratorResult<Delivery> | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => {
    timer = setTimeout(() => r("timeout"), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next delivery if it comes within `ms`; otherwise the next() still running, to be finished later. */
async function nextWithin(it: AsyncIterator<Delivery>, ms: number): Promise<{ d?: Delivery; pending?: Next }> {
  const p = it.next();
  const r = await nextOrTimeout(p, ms);
  if (r === "timeout") return { pending: p };
  return r.done ? {} : { d: r.value };
}

async function run(h: Harness, opts: ScenarioOptions): Promise<ScenarioResult> {
  const problems: string[] = [];
  // Never h.sql here: its pool's connections would count among the queue's.
  const admin = await h.admin();
  const db = `\`${admin.database}\``;
  const names = new Set<string>();
  const { publishes } = h.ledger;
  const ackedIds = new Set<string>();
  const counts: Record<Variant, number> = {
    idle: 0,
    fetching: 0,
    ackDuringClose: 0,
    ackAfterClose: 0,
    abandon: 0,
    return: 0,
  };

  const baseConnections = await admin.connectionsTo();
  const baseRefTimers = refTimers();
  const timers = watchTimers();
  h.onClose(() => timers.stop());
  const queue = createQueue({ url: opts.databaseUrl, connectionLimit: CONNECTION_LIMIT });
  let queueClosed = false;
  const open = new Set<Subscription>();
  h.onClose(async () => {
    await Promise.allSettled([...open].map((s) => s.close()));
    if (!queueClosed) await queue.close();
  });

  const subscribe = (name: string, closeTimeoutMs: number) => {
    names.add(name);
    const sub = queue.subscriber.subscribe(TOPIC, {
      subscriberName: name,
      consumerGroup: GROUP,
      pollIntervalMs: 20,
      batchSize: 1 + Math.floor(Math.random() * 5),
      visibilityTimeoutMs: VISIBILITY_MS,
      leaseDurationMs: 3_000,
      leaseRenewalIntervalMs: 10 + Math.floor(Math.random() * 90),
      // Abandoned deliveries come back many times; none may reach the DLQ.
      maxAttempts: 1000,
      closeTimeoutMs,
    });
    open.add(sub);
    return sub;
  };

  const acker = (consumer: string) => {
    let n = 0;
    return async (d: Delivery) => {
      try {
        await d.ack();
      } catch (err) {
        if (!(err instanceof QueueError && err.code === "DELIVERY_EXPIRED"))
          problems.push(`ack by ${consumer} failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      ackedIds.add(d.message.id);
      h.ledger.recordDelivery({
        group: GROUP,
        topic: TOPIC,
        partitionKey: d.message.partitionKey,
        id: d.message.id,
        seq: (d as QueueDelivery).seq,
        consumer,
        n: ++n,
      });
    };
  };

  /** Takes up to `count` deliveries, each awaited at most `waitMs`; a next() still running is handed back. */
  const takeSome = async (it: AsyncIterator<Delivery>, count: number, waitMs: number) => {
    const got: Delivery[] = [];
    for (let i = 0; i < count; i++) {
      const r = await nextWithin(it, waitMs);
      if (r.pending) return { got, pending: r.pending };
      if (!r.d) break;
      got.push(r.d);
    }
    return { got, pending: undefined };
  };

  const cycle = async (lane: number, k: number, variant: Variant) => {
    counts[variant]++;
    const consumer = `L${lane}-${k}`;
    const short = Math.floor(Math.random() * 50);
    // A few names reused over and over, like a fleet restarting its workers.
    const sub = subscribe(`ss-${lane}-${k % 5}`, variant === "abandon" || variant === "ackAfterClose" ? short : 2_000);
    const it = sub[Symbol.asyncIterator]();
    const ack = acker(consumer);
    const finishPending = async (pending: Next | undefined) => {
      const r = await pending;
      if (r && !r.done) await ack(r.value);
    };
    switch (variant) {
      case "idle":
        await sub.close();
        break;
      case "fetching": {
        const p = it.next();
        await pause(Math.random() * 30);
        await sub.close();
        await finishPending(p);
        break;
      }
      case "ackDuringClose": {
        const { got, pending } = await takeSome(it, 1 + Math.floor(Math.random() * 3), 300);
        const last = got.pop();
        for (const d of got) await ack(d);
        const closing = sub.close();
        if (last) await ack(last);
        await closing;
        await finishPending(pending);
        break;
      }
      case "ackAfterClose": {
        const { got, pending } = await takeSome(it, 1 + Math.floor(Math.random() * 3), 300);
        const last = got.pop();
        for (const d of got) await ack(d);
        await sub.close();
        if (last) await ack(last);
        await finishPending(pending);
        break;
      }
      case "abandon": {
        const { got, pending } = await takeSome(it, 1 + Math.floor(Math.random() * 3), 300);
        got.pop(); // never settled: it comes back after the visibility timeout
        for (const d of got) await ack(d);
        await sub.close();
        await finishPending(pending);
        break;
      }
      case "return": {
        const { got, pending } = await takeSome(it, 1, 300);
        for (const d of got) await ack(d);
        // What `break` in a for-await loop does.
        await it.return?.();
        await finishPending(pending);
        break;
      }
    }
    open.delete(sub);
  };

  let maxConnections = 0;
  let cycles = 0;
  let trafficOver = false;
  let published = 0;
  const publisher = (async () => {
    const orders = new Map<string, number>();
    while (!trafficOver) {
      const partitionKey = `P${Math.floor(Math.random() * PARTITIONS)}`;
      const order = (orders.get(partitionKey) ?? 0) + 1;
      const id = `m-${published++}`;
      await queue.publisher.publish(TOPIC, { id, partitionKey, payload: id });
      orders.set(partitionKey, order);
      h.ledger.recordPublish({ topic: TOPIC, partitionKey, id, order, publisher: "p", acked: true });
      await pause(15);
    }
  })().catch((err: unknown) => {
    problems.push(`publishing failed: ${err instanceof Error ? err.message : String(err)}`);
  });

  const loopStart = performance.now();
  const lanes = Array.from({ length: LANES }, async (_, lane) => {
    for (let k = 0; performance.now() - loopStart < opts.durationMs; k++) {
      const variant = VARIANTS[Math.floor(Math.random() * VARIANTS.length)] as Variant;
      await cycle(lane, k, variant);
      cycles++;
      if (lane === 0 && k % 10 === 0) {
        maxConnections = Math.max(maxConnections, await admin.connectionsTo());
      }
    }
  });
  await Promise.all(lanes);
  trafficOver = true;
  await publisher;
  h.log(`${cycles} open/close cycles (${JSON.stringify(counts)}), ${publishes.length} published; draining`);

  // Drain: whatever the loop left, including abandoned deliveries once they time out.
  const drain = subscribe("ss-drain", 2_000);
  const it = drain[Symbol.asyncIterator]();
  const ack = acker("drain");
  const deadline = performance.now() + VISIBILITY_MS * 4 + 20_000;
  let pending: Next | undefined;
  const allAcked = () => publishes.every((p) => ackedIds.has(p.id));
  while (!allAcked() && performance.now() < deadline) {
    const p = pending ?? it.next();
    const r = await nextOrTimeout(p, 200);
    pending = r === "timeout" ? p : undefined;
    if (r === "timeout") continue;
    if (r.done) break;
    await ack(r.value);
  }
  await drain.close();
  open.delete(drain);
  const last = await pending;
  if (last && !last.done) await ack(last.value);
  const all = allAcked();
  if (!all) problems.push("not every published message was acked after the loop");

  const verdict = h.check([GROUP], { allowedDuplicates: 0 });

  // What the closed subscriptions left behind.
  const held = await admin.query<{ partition_key: string; lease_owner: string }>(
    `SELECT partition_key, lease_owner FROM ${db}.queue_group_partitions WHERE consumer_group = ? AND lease_owner IS NOT NULL`,
    [GROUP],
  );
  if (held.length > 0)
    problems.push(`${held.length} leases still held after every subscription closed: ${JSON.stringify(held)}`);
  const left = await admin.query<{ instance_id: string; subscriber_name: string }>(
    `SELECT instance_id, subscriber_name FROM ${db}.queue_subscribers WHERE consumer_group = ? AND subscriber_name IN (?)`,
    [GROUP, [...names]],
  );
  if (left.length > 0)
    problems.push(`${left.length} subscriber rows left after close: ${left.map((s) => s.subscriber_name).join(", ")}`);
  if (maxConnections > baseConnections + CONNECTION_LIMIT)
    problems.push(
      `the queue had ${maxConnections - baseConnections} connections open, over its pool's ${CONNECTION_LIMIT}`,
    );
  const openRefTimers = refTimers();
  if (openRefTimers > baseRefTimers + POOL_TIMERS)
    problems.push(`after ${cycles} cycles the open queue keeps ${openRefTimers - baseRefTimers} timers alive`);

  await queue.close();
  queueClosed = true;
  const notBack = await missed(
    until(
      async () => (await admin.connectionsTo()) <= baseConnections,
      "the connections to the database to drop back to the baseline after queue.close()",
      5_000,
      50,
    ),
  );
  if (notBack) problems.push(notBack);
  // Timers fire or are cleared on their own schedule: give the closed queue's last ones a turn of the loop.
  await new Promise((r) => setImmediate(r));
  if (refTimers() > baseRefTimers)
    problems.push(`${refTimers() - baseRefTimers} timers still alive after queue.close()`);
  if (timers.live() > 0) problems.push(`${timers.live()} timers (ref'd or not) made during the run are still pending`);

  return h.result(verdict, { published: publishes.length, faults: cycles, problems });
}

export default faultScenario({
  name: NAME,
  title:
    "Subscriptions opened and closed in a tight loop, mid-fetch and with deliveries in hand, leave no lease, subscriber row, timer or connection behind and lose no message",
  run,
});
