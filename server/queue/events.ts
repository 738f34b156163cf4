// What the queue reports as it works, for metrics. The library stays free of
// any metrics package: the caller passes `onEvent` to createQueue and counts
// what it wants. A throwing listener is ignored; it never breaks the queue.

export type SettleOutcome = "acked" | "nacked" | "dead_lettered";

export type QueueEvent =
  | { type: "published"; topic: string; count: number }
  /** `latencyMs`: from the moment the row became visible to its first delivery, on the database's clock. */
  | { type: "delivered"; topic: string; group: string; attempt: number; latencyMs: number }
  /** `processingMs`: from handing the delivery to the caller to its settle, on this process's clock. */
  | { type: "settled"; topic: string; group: string; outcome: SettleOutcome; processingMs: number }
  | { type: "poll"; topic: string; group: string };

export type QueueEventListener = (event: QueueEvent) => void;

export function safeEmitter(listener: QueueEventListener | undefined): QueueEventListener {
  if (!listener) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch {
      // Metrics must never take the queue down.
    }
  };
}
