// The publisher process of the queue bench's cross-process latency section
// (started by bench/queue-latency.ts): publishes `count` messages one at a
// time on a fixed schedule of `ratePerSec`, so no in-process wake-up reaches
// the subscriber in the bench. Says "ready", starts on "go", reports
// "published" and exits 0. The bench computes latency from publishedAt.
import { createQueue } from "@/server/queue";
import { sleep } from "./lib";
import { childConfig, exitWithParent, onCommand, type PublisherConfig, report } from "./queue-children";
import { describeError, message } from "./queue-common";

async function main() {
  exitWithParent();
  const config = childConfig<PublisherConfig>();
  const queue = createQueue({ url: config.url });
  const go = onCommand("go");
  // Connect before "ready" (another topic), so the first timed publish is not also the pool's first connect.
  await queue.publisher.publish(`${config.topic}.warmup`, message("w", 0, 1));
  await report({ type: "ready" });
  await go;
  const intervalMs = 1000 / config.ratePerSec;
  const start = performance.now();
  for (let i = 0; i < config.count; i++) {
    // A late publish does not push back the ones after it.
    const wait = start + i * intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    await queue.publisher.publish(config.topic, message("x", i, config.partitions));
  }
  const seconds = (performance.now() - start) / 1000;
  await queue.close();
  await report({ type: "published", count: config.count, seconds });
  process.exit(0);
}

main().catch(async (err: unknown) => {
  await report({ type: "error", message: describeError(err) });
  process.exit(1);
});
