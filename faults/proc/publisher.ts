// A publisher process of the fault suite. Each lane publishes ids
// `${publisher}-${partitionKey}-${order}` (with "-f" appended to every
// failEvery-th, the ones a consumer is told to fail), printing a `pub` line
// with acked=false before each publish call and one with acked=true after it
// returns, so the harness knows which publishes were only attempted when it
// kills this process. A failed call is given up (its messages may or may not
// be stored; the checker treats them so), or with `retry` tried again with the
// same ids, which the log dedups, until it is stored. SIGTERM finishes the
// calls under way and exits 0.

import { pickDistinct } from "@/faults/random";
import type { PublishRecord } from "@/faults/types";
import { pause } from "@/faults/wait";
import { classifyMysqlError, createQueue, type Message, QueueError } from "@/server/queue";
import { type ChildLine, configFromArgv, describeError, emit, reportCrashes } from "./lines";

export interface PublisherConfig {
  url: string;
  topic: string;
  /** Unique per process incarnation: it is part of every id. */
  name: string;
  partitionKeys: string[];
  /** A rate for the whole process (messages per second, 0 as fast as it can), or a pause after each call. */
  pace: { perSecond: number } | { pauseMs: number };
  /** Each call's partition keys: in turn (the default) or at random, distinct within a call. */
  keys?: "in-turn" | "random";
  /** Concurrent publish loops; each is a publisher of its own (`${name}.${lane}`) for ordering. */
  lanes?: number;
  /** Largest number of messages in one publish call. Default 1. */
  batchMax?: number;
  /** Chance that a publish call holds more than one message, 0..1. Default 0. */
  batchChance?: number;
  /** Stop after this many messages per lane. Default: until SIGTERM. */
  maxPerLane?: number;
  /** Try a failed call again with the same ids (up to 200 tries) instead of giving it up. */
  retry?: boolean;
  /** Every n-th message is marked to fail ("-f" id suffix). Default none. */
  failEvery?: number;
  /**
   * publishAfter with this delay, ms, per partition key, one message per
   * call (one delay per partition keeps visible_after rising with seq, so
   * log order still holds).
   */
  delayMs?: Record<string, number>;
}

reportCrashes();
const cfg = configFromArgv<PublisherConfig>("publisher");
const queue = createQueue({ url: cfg.url, connectionLimit: Math.max(2, (cfg.lanes ?? 1) + 1) });
let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
});

/** Messages made by every lane so far: every failEvery-th of them is marked to fail. */
let made = 0;

function callSize(): number {
  const batchMax = cfg.delayMs ? 1 : Math.max(1, cfg.batchMax ?? 1);
  return batchMax > 1 && Math.random() < (cfg.batchChance ?? 0) ? 2 + Math.floor(Math.random() * (batchMax - 1)) : 1;
}

/** One call; returns the tries it took. Throws what cannot be ridden out. */
async function publishCall(records: PublishRecord[], delayMs: number): Promise<number> {
  const messages: Message[] = records.map((r) => ({ id: r.id, partitionKey: r.partitionKey, payload: r.id }));
  for (let tries = 1; ; tries++) {
    try {
      if (delayMs > 0) await queue.publisher.publishAfter(cfg.topic, messages[0] as Message, delayMs);
      else await queue.publisher.publish(cfg.topic, messages);
      return tries;
    } catch (err) {
      // Our own mistakes are not retried; anything the database did is.
      const retrying = cfg.retry === true && !(err instanceof QueueError) && tries < 200;
      const id = records[0]?.id ?? "";
      emit([{ t: "puberr", id, error: describeError(err), kind: classifyMysqlError(err), retrying }]);
      if (!retrying) throw err;
      await pause(10 * Math.min(tries, 20));
    }
  }
}

async function lane(publisher: string, laneCount: number): Promise<void> {
  const orders = new Map<string, number>();
  const intervalMs = "perSecond" in cfg.pace && cfg.pace.perSecond > 0 ? (1000 * laneCount) / cfg.pace.perSecond : 0;
  const started = performance.now();
  let sent = 0;
  let rr = 0;
  while (!stopping && (cfg.maxPerLane === undefined || sent < cfg.maxPerLane)) {
    const size = callSize();
    const keys =
      cfg.keys === "random"
        ? pickDistinct(cfg.partitionKeys, size)
        : Array.from({ length: size }, () => cfg.partitionKeys[rr++ % cfg.partitionKeys.length] as string);
    const delayMs = cfg.delayMs?.[keys[0] as string] ?? 0;
    const records = keys.map((partitionKey): PublishRecord => {
      const order = (orders.get(partitionKey) ?? 0) + 1;
      orders.set(partitionKey, order);
      made++;
      const fail = cfg.failEvery ? made % cfg.failEvery === 0 : false;
      const id = `${publisher}-${partitionKey}-${order}${fail ? "-f" : ""}`;
      return { topic: cfg.topic, partitionKey, id, order, publisher, acked: false };
    });
    const line = (r: PublishRecord, tries: number): ChildLine => ({ t: "pub", ...r, tries, delayMs });
    emit(records.map((r) => line(r, 0)));
    try {
      const tries = await publishCall(records, delayMs);
      emit(records.map((r) => line({ ...r, acked: true }, tries)));
    } catch (err) {
      // Given up: unacknowledged, it may or may not be stored. A retrying publisher that gives up has failed.
      if (cfg.retry) throw err;
    }
    sent += records.length;
    if ("pauseMs" in cfg.pace) await pause(cfg.pace.pauseMs);
    else if (intervalMs > 0) {
      const wait = started + sent * intervalMs - performance.now();
      if (wait > 0) await pause(wait);
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
  emit([{ t: "fatal", error: describeError(err) }]);
  process.exit(1);
});
