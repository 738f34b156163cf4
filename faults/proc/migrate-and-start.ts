// One process of a fleet starting at once against an empty database (scenario
// 12): run the project's migrator, then start a queue and publish and consume
// one message. Prints `booted` with how many migrations it applied once its
// queue is closed, and exits by itself: a handle left open would keep it
// running, and the scenario counts that as a failure.
import { migrateDatabase } from "@/db/migrate";
import { createQueue } from "@/server/queue";
import { configFromArgv, describeError, emit, reportCrashes } from "./lines";

export interface MigrateAndStartConfig {
  url: string;
  /** Which process of the fleet: its topic, message and subscriber names. */
  index: number;
}

const RECEIVE_TIMEOUT_MS = 30_000;

reportCrashes();
const cfg = configFromArgv<MigrateAndStartConfig>("migrate-and-start");

async function main() {
  const { url, index } = cfg;
  const started = performance.now();
  const { applied } = await migrateDatabase(url);
  const migratedMs = Math.round(performance.now() - started);
  const queue = createQueue({ url, connectionLimit: 2 });
  try {
    const topic = `boot.${index}`;
    const id = `hello-${index}`;
    await queue.publisher.publish(topic, { id, partitionKey: "p", payload: "hello" });
    const sub = queue.subscriber.subscribe(topic, {
      subscriberName: `boot-${index}`,
      consumerGroup: "boot",
      pollIntervalMs: 20,
    });
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      sub[Symbol.asyncIterator]().next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no delivery of its own message")), RECEIVE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (r.done || r.value.message.id !== id) throw new Error("received something else than its own message");
    await r.value.ack();
    await sub.close();
  } finally {
    await queue.close();
  }
  emit([{ t: "booted", applied, migratedMs }]);
}

main().catch((err: unknown) => {
  emit([{ t: "fatal", error: err instanceof Error ? (err.stack ?? err.message) : describeError(err) }]);
  process.exit(1);
});
