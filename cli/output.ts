// Printing: JSON for machines (--json, stdout, one document), aligned tables
// for people. Prompts and progress go to stderr so stdout stays parseable.
import { createInterface } from "node:readline/promises";
import { Declined } from "./args";

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function line(text = ""): void {
  process.stdout.write(`${text}\n`);
}

/** Columns padded to their widest cell; numbers are right-aligned. */
export function table(headers: string[], rows: Array<Array<string | number | boolean | null | undefined>>): string {
  if (rows.length === 0) return "(none)";
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "-" : String(c))));
  const numeric = headers.map((_, i) => rows.every((r) => typeof r[i] === "number" || r[i] == null));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [fmt(headers), ...cells.map(fmt)].join("\n");
}

/** A database-clock ms timestamp for people. */
export function when(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || ms === 0 ? null : new Date(ms).toISOString();
}

/** "1234" or "10000+" for counts capped by the library. */
export function count(c: { value: number; capped: boolean }): string {
  return c.capped ? `${c.value}+` : String(c.value);
}

/**
 * Asks before a destructive action. --yes skips the question; with no
 * terminal to ask on, it refuses rather than guess.
 */
export async function confirm(question: string, yes: boolean, command: string): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new Declined(`${command}: refusing to proceed without confirmation: stdin is not a terminal; pass --yes`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new Declined("Nothing done.");
  } finally {
    rl.close();
  }
}
