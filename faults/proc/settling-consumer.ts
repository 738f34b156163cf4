// A consumer process for the faults that strike database connections: it
// handles one delivery at a time, nacks the messages marked to fail ("-f" ids)
// when told to (so they reach the DLQ after maxAttempts), and acks the rest.
// A settle that fails on a dead connection is tried again; when the retry
// finds the delivery already settled, the first try had committed and the
// delivery counts as done ("ambiguous"). Optionally asks the database's clock
// at every hand-out, for the clock-skew scenario. SIGTERM closes gracefully.
import { NOW_MS_SQL } from "../../db/clock";
import { openUtcPool } from "../../db/client";
import { classifyMysqlError, createQueue, type Delivery, QueueError, type SubscriptionInput } from "../../server/queue";
import { errorText, reportCrashes, say } from "./retry-lines";

export interface SettlingConsumerConfig {
  url: string;
  topic: string;
  group: string;
  consumer: string;
  options?: Partial<SubscriptionInput>;
  /** Nack "-f" messages (every attempt) instead of acking them. */
  failMarked?: boolean;
  /** Read the database's clock and the row's visible_after at each hand-out. */
  dbClock?: boolean;
}

reportCrashes();
const cfg = JSON.parse(process.argv[2] ?? "null") as SettlingConsumerConfig;
const queue = createQueue({ url: cfg.url, connectionLimit: 4 });
const clockPool = cfg.dbClock ? openUtcPool(cfg.url, { connectionLimit: 1 }) : undefined;
const sub = queue.subscriber.subscribe(cfg.topic, {
  pollIntervalMs: 50,
  ...cfg.options,
  subscriberName: cfg.consumer,
  consumerGroup: cfg.group,
});

let stopping: Promise<void> | undefined;
process.on("SIGTERM", () => {
  stopping ??= sub.close();
});

function seqOf(d: object): number {
  const seq = (d as { seq?: unknown }).seq;
  if (typeof seq !== "number") throw new Error("delivery carries no seq");
  return seq;
}

type Outcome = "done" | "ambiguous" | "expired";

async function settle(id: string, verb: string, fn: () => Promise<void>): Promise<Outcome> {
  let connectionDied = false;
  for (let tries = 1; ; tries++) {
    try {
      await fn();
      return "done";
    } catch (err) {
      if (err instanceof QueueError && err.code === "DELIVERY_EXPIRED") return connectionDied ? "ambiguous" : "expired";
      // ALREADY_SETTLED or a bad argument: a bug, not a fault to ride out.
      if (err instanceof QueueError) throw err;
      const kind = classifyMysqlError(err);
      say({ t: "settleerr", id, verb, error: errorText(err), kind });
      if (kind === "connection") connectionDied = true;
      if (tries >= 200) throw err;
      await new Promise((r) => setTimeout(r, 10 * Math.min(tries, 20)));
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
  say({ t: "ready" });
  // Not `for await`: an exception there would close the subscription gracefully and hide it.
  const it = sub[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const d = r.value;
    const seq = seqOf(d);
    const { id, partitionKey } = d.message;
    const clock = await clockAt(d, seq);
    say({ t: "got", id, partitionKey, seq, attempt: d.attempt });
    if (cfg.failMarked && id.endsWith("-f")) {
      const out = await settle(id, "nack", () => d.nack({ reason: `marked to fail (${cfg.consumer})` }));
      say(out === "expired" ? { t: "expired", id, verb: "nack" } : { t: "nacked", id, attempt: d.attempt });
      continue;
    }
    const out = await settle(id, "ack", () => d.ack());
    if (out === "expired") {
      say({ t: "expired", id, verb: "ack" });
      continue;
    }
    n++;
    const record = { group: cfg.group, topic: d.topic, partitionKey, id, seq, consumer: cfg.consumer, n };
    say({ t: "del", record, attempt: d.attempt, ambiguous: out === "ambiguous", ...clock });
  }
  await stopping;
  await queue.close();
  await clockPool?.end();
  say({ t: "done" });
  process.exit(0);
}

main().catch((err) => {
  say({ t: "fatal", error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
