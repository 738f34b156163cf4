// The one way a fault-suite child reports: a JSON object per line on stdout.
// Pipes are written synchronously on Linux, so a line printed before a
// SIGKILL still reaches the parent.

export type ChildLine =
  | { t: "ready" }
  | { t: "pub"; topic: string; partitionKey: string; id: string; order: number; publisher: string; acked: boolean }
  | { t: "fetched"; id: string; partitionKey: string; seq: number; attempt: number }
  | {
      t: "del";
      group: string;
      topic: string;
      partitionKey: string;
      id: string;
      seq: number;
      consumer: string;
      n: number;
      attempt: number;
    }
  | { t: "ackfail"; id: string; partitionKey: string; seq: number; attempt: number; error: string }
  | { t: "error"; message: string }
  | { t: "done" };

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
