// Waiting on a condition with a deadline: the scenarios poll the database or
// their own records instead of sleeping a guessed time.

/** Polls `check` until it returns a truthy value; undefined once `timeoutMs` has passed. */
export async function until<T>(
  check: () => Promise<T> | T,
  timeoutMs: number,
  everyMs = 50,
): Promise<NonNullable<T> | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (performance.now() > deadline) return undefined;
    await pause(everyMs);
  }
}

/** A pause as part of the traffic or fault pattern (never as synchronisation). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
