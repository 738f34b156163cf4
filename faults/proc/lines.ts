// The one way a fault-suite child reports to the harness: a JSON object per
// line on stdout. Pipes are written synchronously on Linux, so a line printed
// before a SIGKILL or a crash still reaches the parent.
import type { DeliveryRecord, PublishRecord } from "@/faults/types";

/** Where a delivery stands in its partition's log, and which hand-out of it this is. */
export interface DeliveryAt {
  id: string;
  partitionKey: string;
  seq: number;
  attempt: number;
}

export type ChildLine =
  | { t: "ready" }
  /** Printed before a publish call (acked false, tries 0) and once it returned (acked true). */
  | ({ t: "pub"; tries: number; delayMs: number } & PublishRecord)
  /** A publish try failed; `retrying`: the publisher tries again with the same ids, else it gave the call up. */
  | { t: "puberr"; id: string; error: string; kind: string; retrying: boolean }
  /** The subscription handed this delivery to the application. */
  | ({ t: "fetched" } & DeliveryAt)
  /**
   * The ack returned. `ambiguous`: an earlier try died with its connection and
   * the retry found the ack already done. `dbNow` and `visibleAfter` are the
   * database's clock at hand-out and the row's visible_after, when asked for.
   */
  | ({ t: "del"; attempt: number; ambiguous: boolean; dbNow?: number; visibleAfter?: number } & DeliveryRecord)
  | ({ t: "nacked" } & DeliveryAt)
  /** The queue would not take the settle (the delivery timed out, or the one try failed): it comes back to someone. */
  | ({ t: "refused"; verb: "ack" | "nack"; error: string } & DeliveryAt)
  /** A settle try failed on the database and is tried again. */
  | { t: "settleerr"; id: string; verb: "ack" | "nack"; error: string; kind: string }
  /** A process of the concurrent-migration fleet migrated (or found nothing to do) and started a queue. */
  | { t: "booted"; applied: number; migratedMs: number }
  | { t: "fatal"; error: string }
  | { t: "done" };

/** Writes the lines at once: a publish call's attempt lines arrive together or not at all. */
export function emit(lines: ChildLine[]): void {
  if (lines.length === 0) return;
  process.stdout.write(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
}

export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return code ? `${String(code)}: ${err.message}` : err.message;
  }
  return String(err);
}

/** A crash of the process is a finding, not noise: report it on stdout before dying. */
export function reportCrashes(): void {
  const die = (err: unknown) => {
    emit([{ t: "fatal", error: err instanceof Error ? (err.stack ?? err.message) : String(err) }]);
    process.exit(3);
  };
  process.on("uncaughtException", die);
  process.on("unhandledRejection", die);
}

/** Every child reads one JSON config from its first argument. */
export function configFromArgv<T>(usage: string): T {
  const config = JSON.parse(process.argv[2] ?? "null") as T | null;
  if (!config) throw new Error(`usage: ${usage} CONFIG_JSON`);
  return config;
}
