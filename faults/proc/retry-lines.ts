// What the retrying publisher and the settling consumer print: one JSON object
// per line on stdout (pipes are written synchronously on Linux, so a line
// printed before a crash still reaches the parent).
import type { DeliveryRecord, PublishRecord } from "../types";

export type RetryLine =
  | { t: "ready" }
  /** Printed before the first try (acked false) and once publish() returned (acked true). */
  | { t: "pub"; record: PublishRecord; tries: number; delayMs: number }
  | { t: "puberr"; id: string; error: string; kind: string }
  /** The subscription handed this delivery out. */
  | { t: "got"; id: string; partitionKey: string; seq: number; attempt: number }
  /**
   * The ack returned. `ambiguous`: an earlier try died with its connection and
   * the retry found the ack already done. `dbNow` and `visibleAfter` are the
   * database's clock at hand-out and the row's visible_after, when asked for.
   */
  | { t: "del"; record: DeliveryRecord; attempt: number; ambiguous: boolean; dbNow?: number; visibleAfter?: number }
  | { t: "nacked"; id: string; attempt: number }
  /** A settle that will not happen: the delivery timed out and went to someone else. */
  | { t: "expired"; id: string; verb: string }
  | { t: "settleerr"; id: string; verb: string; error: string; kind: string }
  | { t: "fatal"; error: string }
  | { t: "done" };

export function say(line: RetryLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code ? `${String(code)}: ${err.message}` : err.message;
  }
  return String(err);
}

/** A crash of the process is a finding, not noise: report it on stdout before dying. */
export function reportCrashes(): void {
  const die = (err: unknown) => {
    say({ t: "fatal", error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(3);
  };
  process.on("uncaughtException", die);
  process.on("unhandledRejection", die);
}
