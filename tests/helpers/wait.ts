import type { Delivery, Subscription } from "@/server/queue";

// The one polling wait, shared with the fault suite: it throws after `timeoutMs` naming what it awaited.
export { until } from "@/faults/wait";

/** The next delivery, or an error naming what was awaited after `timeoutMs`. */
export async function nextDelivery(it: AsyncIterator<Delivery>, what = "a delivery", timeoutMs = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error(`subscription ended while waiting for ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Takes `n` deliveries, running `handle` on each (ack by default). */
export async function take(
  sub: Subscription,
  n: number,
  handle: (d: Delivery) => Promise<void> = (d) => d.ack(),
  timeoutMs = 20_000,
): Promise<Delivery[]> {
  const it = sub[Symbol.asyncIterator]();
  const out: Delivery[] = [];
  while (out.length < n) {
    const d = await nextDelivery(it, `delivery ${out.length + 1} of ${n}`, timeoutMs);
    out.push(d);
    await handle(d);
  }
  return out;
}

/** A promise and the function that settles it: tests wait on signals, not sleeps. */
export function signal<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
