// Numbers as the queue pages show them: the same text on the server and in
// the browser (fixed locale), and bounded counts as "10,000+".
import type { Count } from "@/server/queue";

const integer = new Intl.NumberFormat("en-US");

export function formatNumber(n: number): string {
  return integer.format(n);
}

/** A count the library stopped at its cap reads "10,000+": the exact number would cost a scan. */
export function formatCount(c: Count): string {
  return c.capped ? `${formatNumber(c.value)}+` : formatNumber(c.value);
}

/** "1 message" / "20 messages". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

/** Bytes for people: 512 B · 3.4 KiB · 1.2 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
