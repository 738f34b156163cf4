// A publisher process for the fault suite. Each lane publishes ids
// `${publisher}-${partitionKey}-${order}` round-robin over the partition keys,
// printing a `pub` line with acked=false before each publish() and one with
// acked=true after it returns, so the parent knows which publishes were only
// attempted when it kills this process. SIGTERM finishes the publishes under
// way and exits 0.
import { createQueue, type Message } from "../../server/queue";
import { describeError, emit } from "./lines";

export interface PublisherConfig {
  url: string;
  topic: string;
  /** Unique per process incarnation: it is part of every id. */
  name: string;
  partitionKeys: string[];
  /** Messages per second for the whole process; 0 publishes as fast as it can. */
  ratePerSec: number;
  /** Concurrent publish loops; each is a publisher of its own (`${name}.${lane}`) for ordering. */
  lanes?: number;
  /** Largest number of messages in one publish call. Default 1. */
  batchMax?: number;
  /** Chance that a publish call holds more than one message, 0..1. Default 0. */
  batchChance?: number;
  /** Stop after this many messages per lane. Default: until SIGTERM. */
  maxPerLane?: number;
}

const config = JSON.parse(process.argv[2] ?? "null") as PublisherConfig | null;
if (!config) throw new Error("usage: publisher CONFIG_JSON");
const cfg: PublisherConfig = config;

const queue = createQueue({ url: cfg.url, connectionLimit: Math.max(2, (cfg.lanes ?? 1) + 1) });
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});

async function lane(publisher: string, laneCount: number): Promise<void> {
  const orders = new Map<string, number>();
  const intervalMs = cfg.ratePerSec > 0 ? (1000 * laneCount) / cfg.ratePerSec : 0;
  const batchMax = Math.max(1, cfg.batchMax ?? 1);
  const started = performance.now();
  let sent = 0;
  let rr = 0;
  while (!stopping && (cfg.maxPerLane === undefined || sent < cfg.maxPerLane)) {
    const size =
      batchMax > 1 && Math.random() < (cfg.batchChance ?? 0) ? 2 + Math.floor(Math.random() * (batchMax - 1)) : 1;
    const batch: Message[] = [];
    const records = [];
    for (let i = 0; i < size; i++) {
      const partitionKey = cfg.partitionKeys[rr++ % cfg.partitionKeys.length] as string;
      const order = (orders.get(partitionKey) ?? 0) + 1;
      orders.set(partitionKey, order);
      const id = `${publisher}-${partitionKey}-${order}`;
      batch.push({ id, partitionKey, payload: id });
      records.push({ t: "pub" as const, topic: cfg.topic, partitionKey, id, order, publisher, acked: false });
    }
    emit(records);
    try {
      await queue.publisher.publish(cfg.topic, batch);
      emit(records.map((r) => ({ ...r, acked: true })));
    } catch (err) {
      // Unacknowledged: it may or may not be stored; the checker treats it so.
      emit([{ t: "error", message: describeError(err) }]);
    }
    sent += size;
    if (intervalMs > 0) {
      const due = started + sent * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
}

async function main() {
  const lanes = Math.max(1, cfg.lanes ?? 1);
  const names = lanes === 1 ? [cfg.name] : Array.from({ length: lanes }, (_, i) => `${cfg.name}.${i + 1}`);
  emit([{ t: "ready" }]);
  await Promise.all(names.map((n) => lane(n, lanes)));
  await queue.close();
  emit([{ t: "done" }]);
  process.exit(0);
}

main().catch((err) => {
  emit([{ t: "error", message: describeError(err) }]);
  process.exit(1);
});
