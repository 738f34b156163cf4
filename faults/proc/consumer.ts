// A consumer process of the fault suite. It handles one delivery at a time:
// prints `fetched` when the subscription hands it one, settles it, and prints
// the outcome: `del` once its ack returned, `nacked` for a message marked to
// fail ("-f" ids, with failMarked, so it reaches the DLQ after maxAttempts),
// `refused` when the queue would not take the settle. A SIGKILL between
// fetched and the outcome leaves the delivery in flight: the harness counts
// those. With rideOutDbErrors a settle that fails on the database (a killed
// connection, a deadlock past the library's retries) is tried again; when the
// retry finds the delivery already settled, the first try had committed and
// the delivery counts as done ("ambiguous"). SIGTERM closes the subscription
// gracefully and exits 0.
import { openUtcPool } from "@/db/client";
import { NOW_MS_SQL } from "@/db/clock";
import { randomBetween } from "@/faults/random";
import { pause } from "@/faults/wait";
import { classifyMysqlError, createQueue, type Delivery, QueueError, type SubscriptionInput } from "@/server/queue";
import { configFromArgv, type DeliveryAt, describeError, emit, reportCrashes } from "./lines";

export interface ConsumerConfig {
  url: string;
  topic: string;
  group: string;
  subscriberName: string;
  /** This process incarnation's name in the records (the subscriber name plus a restart count). */
  consumer: string;
  options: Partial<SubscriptionInput>;
  /** Simulated work per delivery, ms: a random value in [min, max]. */
  handleMs?: [number, number];
  /** Nack "-f" messages (every attempt) instead of acking them. */
  failMarked?: boolean;
  /** Try a settle that failed on the database again, up to 200 times, instead of printing it refused. */
  rideOutDbErrors?: boolean;
  /** Read the database's clock and the row's visible_after at each hand-out. */
  dbClock?: boolean;
}

reportCrashes();
const cfg = configFromArgv<ConsumerConfig>("consumer");
const queue = createQueue({ url: cfg.url, connectionLimit: 4 });
const clockPool = cfg.dbClock ? openUtcPool(cfg.url, { connectionLimit: 1 }) : undefined;
const sub = queue.subscriber.subscribe(cfg.topic, {
  ...cfg.options,
  subscriberName: cfg.subscriberName,
  consumerGroup: cfg.group,
});

let stopping: Promise<void> | undefined;
process.on("SIGTERM", () => {
  stopping ??= sub.close();
});

/** The log's seq is on the library's delivery object, though not in the public Delivery type. */
function seqOf(d: object): number {
  const seq = (d as { seq?: unknown }).seq;
  if (typeof seq !== "number") throw new Error("delivery carries no seq");
  return seq;
}

type Outcome = { settled: true; ambiguous: boolean } | { settled: false; error: string };

async function settle(id: string, verb: "ack" | "nack", fn: () => Promise<void>): Promise<Outcome> {
  let connectionDied = false;
  for (let tries = 1; ; tries++) {
    try {
      await fn();
      return { settled: true, ambiguous: false };
    } catch (err) {
      if (!cfg.rideOutDbErrors) return { settled: false, error: describeError(err) };
      if (err instanceof QueueError && err.code === "DELIVERY_EXPIRED")
        return connectionDied ? { settled: true, ambiguous: true } : { settled: false, error: describeError(err) };
      // ALREADY_SETTLED or a bad argument: a bug, not a fault to ride out.
      if (err instanceof QueueError) throw err;
      const kind = classifyMysqlError(err);
      emit([{ t: "settleerr", id, verb, error: describeError(err), kind }]);
      if (kind === "connection") connectionDied = true;
      if (tries >= 200) throw err;
      await pause(10 * Math.min(tries, 20));
    }
  }
}

async function clockAt(d: Delivery, seq: number): Promise<{ dbNow?: number; visibleAfter?: number }> {
  if (!clockPool) return {};
  const [rows] = await clockPool.query(
    `SELECT ${NOW_MS_SQL} AS now, visible_after FROM queue_messages WHERE topic = ? AND partition_key = ? AND seq = ?`,
    [d.topic, d.message.partitionKey, seq],
  );
  const row = (rows as Array<{ now: string | number; visible_after: string | number }>)[0];
  return row ? { dbNow: Number(row.now), visibleAfter: Number(row.visible_after) } : {};
}

async function main() {
  emit([{ t: "ready" }]);
  // Not `for await`: an exception there would close the subscription gracefully and hide the fault.
  const it = sub[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const d = r.value;
    const at: DeliveryAt = {
      id: d.message.id,
      partitionKey: d.message.partitionKey,
      seq: seqOf(d),
      attempt: d.attempt,
    };
    const clock = await clockAt(d, at.seq);
    emit([{ t: "fetched", ...at }]);
    if (cfg.handleMs) await pause(randomBetween(...cfg.handleMs));
    if (cfg.failMarked && at.id.endsWith("-f")) {
      const out = await settle(at.id, "nack", () => d.nack({ reason: `marked to fail (${cfg.consumer})` }));
      emit([out.settled ? { t: "nacked", ...at } : { t: "refused", verb: "nack", error: out.error, ...at }]);
      continue;
    }
    const out = await settle(at.id, "ack", () => d.ack());
    if (!out.settled) {
      emit([{ t: "refused", verb: "ack", error: out.error, ...at }]);
      continue;
    }
    n++;
    emit([
      {
        t: "del",
        group: cfg.group,
        topic: d.topic,
        partitionKey: at.partitionKey,
        id: at.id,
        seq: at.seq,
        consumer: cfg.consumer,
        n,
        attempt: at.attempt,
        ambiguous: out.ambiguous,
        ...clock,
      },
    ]);
  }
  await stopping;
  await queue.close();
  await clockPool?.end();
  emit([{ t: "done" }]);
  process.exit(0);
}

main().catch((err) => {
  emit([{ t: "fatal", error: err instanceof Error ? (err.stack ?? err.message) : String(err) }]);
  process.exit(1);
});
