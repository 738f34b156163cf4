// One process of a fleet starting at once against an empty database (scenario
// 12): run the project's migrator, then start a queue and publish and consume
// one message. Prints one JSON line: how many migrations it applied and that
// it started. Exits by itself once the queue is closed: a handle left open
// would keep it running, and the scenario counts that as a failure.
import { migrateDatabase } from "../../db/migrate";
import { createQueue } from "../../server/queue";

const RECEIVE_TIMEOUT_MS = 30_000;

async function main() {
  const [url, index] = process.argv.slice(2);
  if (!url || index === undefined) throw new Error("usage: migrate-and-start URL INDEX");
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
  process.stdout.write(`${JSON.stringify({ index: Number(index), applied, migratedMs, started: true })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
