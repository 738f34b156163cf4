// A publisher process that keeps every publish it starts: when publish()
// fails (a killed connection, a deadlock past the library's retries) it tries
// again with the same id, which the log dedups, so the message is stored once
// however many tries it took. Ids are `${publisher}-${n}`, with "-f" appended
// to the ones the settling consumer is told to fail. SIGTERM finishes the
// publish under way and exits 0.
import { classifyMysqlError, createQueue, type Message, QueueError } from "../../server/queue";
import type { PublishRecord } from "../types";
import { errorText, reportCrashes, say } from "./retry-lines";

export interface RetryingPublisherConfig {
  url: string;
  topic: string;
  publisher: string;
  partitionKeys: string[];
  /** Pause between publishes, ms (pacing, so consumers keep up on 2 cores). */
  pauseMs: number;
  /** Every n-th message is marked to fail ("-f" id suffix). 0: none. */
  failEvery?: number;
  /**
   * publishAfter with this delay, ms, per partition key (one delay per
   * partition keeps visible_after rising with seq, so log order still holds).
   */
  delayMs?: Record<string, number>;
  /** Chance that a call publishes two messages into two partitions at once (crossing partition locks). */
  pairChance?: number;
}

reportCrashes();
const cfg = JSON.parse(process.argv[2] ?? "null") as RetryingPublisherConfig;
const queue = createQueue({ url: cfg.url, connectionLimit: 2 });
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});

const orders = new Map<string, number>();
let n = 0;

function nextRecord(partitionKey: string): PublishRecord {
  n++;
  const order = (orders.get(partitionKey) ?? 0) + 1;
  orders.set(partitionKey, order);
  const fail = cfg.failEvery ? n % cfg.failEvery === 0 : false;
  const id = `${cfg.publisher}-${n}${fail ? "-f" : ""}`;
  return { topic: cfg.topic, partitionKey, id, order, publisher: cfg.publisher, acked: false };
}

const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;

async function publishOnce(records: PublishRecord[], delayMs: number): Promise<number> {
  const messages: Message[] = records.map((r) => ({ id: r.id, partitionKey: r.partitionKey, payload: r.id }));
  for (let tries = 1; ; tries++) {
    try {
      if (delayMs > 0) await queue.publisher.publishAfter(cfg.topic, messages[0] as Message, delayMs);
      else await queue.publisher.publish(cfg.topic, messages);
      return tries;
    } catch (err) {
      // Our own mistakes are not retried; anything the database did is.
      if (err instanceof QueueError) throw err;
      say({ t: "puberr", id: records[0]?.id ?? "", error: errorText(err), kind: classifyMysqlError(err) });
      if (tries >= 200) throw err;
      await new Promise((r) => setTimeout(r, 10 * Math.min(tries, 20)));
    }
  }
}

async function main() {
  say({ t: "ready" });
  while (!stopping) {
    const first = pick(cfg.partitionKeys);
    const others = cfg.partitionKeys.filter((k) => k !== first);
    const pair = !cfg.delayMs && others.length > 0 && Math.random() < (cfg.pairChance ?? 0);
    const records = [nextRecord(first), ...(pair ? [nextRecord(pick(others))] : [])];
    const delayMs = cfg.delayMs?.[first] ?? 0;
    for (const record of records) say({ t: "pub", record, tries: 0, delayMs });
    const tries = await publishOnce(records, delayMs);
    for (const record of records) say({ t: "pub", record: { ...record, acked: true }, tries, delayMs });
    await new Promise((r) => setTimeout(r, cfg.pauseMs));
  }
  await queue.close();
  say({ t: "done" });
  process.exit(0);
}

main().catch((err) => {
  say({ t: "fatal", error: errorText(err) });
  process.exit(1);
});
