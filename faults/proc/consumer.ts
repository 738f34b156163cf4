// A consumer process for the fault suite. It handles one delivery at a time:
// prints `fetched` when the subscription hands it one, acks it, and prints the
// DeliveryRecord (`del`) once the ack resolved, or `ackfail` if the ack was
// refused. A SIGKILL between the two leaves a fetched line without an outcome:
// the parent counts those as in flight. SIGTERM closes the subscription
// gracefully and exits 0.
import { createQueue, type SubscriptionInput } from "../../server/queue";
import { describeError, emit } from "./lines";

export interface ConsumerConfig {
  url: string;
  topic: string;
  group: string;
  subscriberName: string;
  /** This process incarnation's name in the records (the subscriber name plus a restart count). */
  consumer: string;
  /** Subscription options over the suite's fast defaults. */
  options?: Partial<SubscriptionInput>;
  /** Simulated work per delivery, ms: a random value in [min, max]. */
  handleMs?: [number, number];
}

const config = JSON.parse(process.argv[2] ?? "null") as ConsumerConfig | null;
if (!config) throw new Error("usage: consumer CONFIG_JSON");
const cfg: ConsumerConfig = config;

const queue = createQueue({ url: cfg.url, connectionLimit: 4 });
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

async function main() {
  emit([{ t: "ready" }]);
  // Not `for await`: an exception there would close the subscription gracefully and hide the fault.
  const it = sub[Symbol.asyncIterator]();
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    const d = r.value;
    const seq = seqOf(d);
    const { id, partitionKey } = d.message;
    emit([{ t: "fetched", id, partitionKey, seq, attempt: d.attempt }]);
    if (cfg.handleMs) {
      const [lo, hi] = cfg.handleMs;
      await new Promise((res) => setTimeout(res, lo + Math.random() * (hi - lo)));
    }
    try {
      await d.ack();
      n++;
      emit([
        {
          t: "del",
          group: cfg.group,
          topic: d.topic,
          partitionKey,
          id,
          seq,
          consumer: cfg.consumer,
          n,
          attempt: d.attempt,
        },
      ]);
    } catch (err) {
      emit([{ t: "ackfail", id, partitionKey, seq, attempt: d.attempt, error: describeError(err) }]);
    }
  }
  await stopping;
  await queue.close();
  emit([{ t: "done" }]);
  process.exit(0);
}

main().catch((err) => {
  emit([{ t: "error", message: describeError(err) }]);
  process.exit(1);
});
