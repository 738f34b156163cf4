// The idle cost of a subscriber: statements per second its queue sends once
// every partition of its topic is drained, with 1 and with 1,000 partitions.
import type mysql from "mysql2/promise";
import { createQueue } from "@/server/queue";
import { type BenchDatabase, printTable, queryOne, sleep } from "./lib";
import {
  describeError,
  fix2,
  inChunks,
  int,
  message,
  problem,
  SETTINGS,
  secs,
  startHandlers,
  subscriptionFor,
  timeSeconds,
  waitFor,
} from "./queue-common";
import { recordTarget } from "./queue-targets";

export interface IdleResult {
  partitions: number;
  delivered: number;
  leasesHeld: number;
  statements: number;
  seconds: number;
}

async function leasesHeld(pool: mysql.Pool, topic: string): Promise<number> {
  const row = await queryOne<{ n: number }>(
    pool,
    "SELECT COUNT(*) AS n FROM queue_group_partitions WHERE topic = ? AND lease_owner IS NOT NULL",
    [topic],
  );
  return Number(row?.n ?? 0);
}

/**
 * Drains one message from each of `partitions` partitions with one subscriber,
 * then counts the statements that subscriber's queue sends while idle. A fresh
 * queue per measurement keeps the counter to this subscriber alone.
 */
export async function measureIdle(db: BenchDatabase, partitions: number): Promise<IdleResult> {
  const topic = `bench.idle.${partitions}`;
  const queue = createQueue({ url: db.url });
  try {
    await inChunks(partitions, 1_000, (from, count) =>
      queue.publisher.publish(
        topic,
        Array.from({ length: count }, (_, k) => message("i", from + k, partitions)),
      ),
    );
    const handlers = startHandlers(
      queue.subscriber.subscribe(topic, subscriptionFor(`idle-${partitions}`)),
      SETTINGS.handlers,
    );
    await handlers.until(partitions, performance.now() + SETTINGS.drainTimeoutMs);
    // A drained partition gives its lease back on the poll after its last ack; wait for that.
    await waitFor(async () => (await leasesHeld(db.raw, topic)) === 0, 5_000);
    const result = { partitions, delivered: handlers.acked(), leasesHeld: await leasesHeld(db.raw, topic) };
    // Includes whatever the subscriber sends in the window: polls, and a heartbeat
    // (3 statements) if one falls due; both are the idle cost being measured.
    const before = queue.statementCount();
    const seconds = await timeSeconds(() => sleep(SETTINGS.idleWindowMs));
    const statements = queue.statementCount() - before;
    await handlers.stop();
    if (handlers.error() !== undefined) problem(`idle ${partitions}: ${describeError(handlers.error())}`);
    return { ...result, statements, seconds };
  } finally {
    await queue.close();
  }
}

export function printIdle(rows: IdleResult[]) {
  const rate = (r: IdleResult) => r.statements / r.seconds;
  printTable(
    `Idle statements per second (one subscriber, ${secs(SETTINGS.idleWindowMs)} window after draining)`,
    ["drained partitions", "delivered", "leases held", "statements", "statements/s"],
    rows.map((r) => [int(r.partitions), int(r.delivered), int(r.leasesHeld), int(r.statements), fix2(rate(r))]),
  );
  const [narrow, wide] = rows;
  if (narrow && wide) {
    console.log(
      `   ratio ${int(wide.partitions)} : ${int(narrow.partitions)} partitions = ${(rate(wide) / rate(narrow)).toFixed(2)}×`,
    );
  }
  for (const r of rows) {
    const of = `of ${r.partitions} drained partitions`;
    if (r.delivered < r.partitions) problem(`idle: ${r.partitions - r.delivered} messages ${of} not delivered`);
    if (r.leasesHeld > 0) problem(`idle: ${r.leasesHeld} leases ${of} still held after 5 s`);
    recordTarget(r.partitions === 1 ? "idle1" : "idleWide", `${fix2(rate(r))} statements/s`, rate(r) <= 10);
  }
}
