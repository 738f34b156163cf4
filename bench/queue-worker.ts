// A worker process of the queue bench (started by bench/queue-process.ts):
// its own createQueue and one subscription of the bench's consumer group, with
// `handlers` concurrent no-op handlers that ack. Says "ready", starts on "go",
// reports the messages it acked every 25 ms, and on "stop" closes the
// subscription and the queue, reports its totals and exits 0.
import { createQueue } from "@/server/queue";
import { childConfig, exitWithParent, onCommand, report, type WorkerConfig } from "./queue-children";
import { describeError, startHandlers } from "./queue-common";

const REPORT_EVERY_MS = 25;

async function main() {
  exitWithParent();
  const config = childConfig<WorkerConfig>();
  const queue = createQueue({ url: config.url });
  const sub = queue.subscriber.subscribe(config.topic, {
    subscriberName: config.subscriberName,
    consumerGroup: config.group,
  });
  const go = onCommand("go");
  const stop = onCommand("stop");
  await report({ type: "ready" });
  await go;
  const handlers = startHandlers(sub, config.handlers);
  let errorSent = false;
  const flush = () => {
    // A handler that failed is said at once: the bench stops waiting for this run.
    if (!errorSent && handlers.error() !== undefined) {
      errorSent = true;
      void report({ type: "error", message: describeError(handlers.error()) });
    }
    const keys = handlers.takeNewKeys();
    if (keys.length === 0) return;
    // lastAckAt is this process's performance.now(): send it as wall-clock ms.
    const lastAckAt = performance.timeOrigin + handlers.lastAckAt();
    void report({ type: "acked", keys, lastAckAt, statements: queue.statementCount() });
  };
  const timer = setInterval(flush, REPORT_EVERY_MS);
  await stop;
  clearInterval(timer);
  await handlers.stop();
  flush();
  const err = handlers.error();
  const statements = queue.statementCount();
  await queue.close();
  await report({
    type: "closed",
    acked: handlers.acked(),
    duplicates: handlers.duplicates(),
    statements,
    error: err === undefined || errorSent ? undefined : describeError(err),
  });
  process.exit(0);
}

main().catch(async (err: unknown) => {
  await report({ type: "error", message: describeError(err) });
  process.exit(1);
});
