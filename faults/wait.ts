// Waiting in the fault suite, in the parent and in the child processes alike
// (and in the tests, through tests/helpers/wait.ts). `until` is the
// synchronisation: it polls a condition against a deadline and throws a
// message naming what it waited for. `pause` is part of a traffic or fault
// pattern (how long to wait before striking), never a synchronisation.

export class UntilTimeout extends Error {}

/** Polls `check` until it returns a truthy value; throws an UntilTimeout naming `what` once `timeoutMs` has passed. */
export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 15_000,
  everyMs = 25,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (performance.now() > deadline) throw new UntilTimeout(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(everyMs);
  }
}

/**
 * For a wait whose deadline is not itself the verdict: the scenario goes on
 * to check what did arrive, which names the missing messages better than a
 * timeout would. Resolves to the timeout's message, or undefined when the
 * condition held; any other error propagates.
 */
export async function missed(waiting: Promise<unknown>): Promise<string | undefined> {
  try {
    await waiting;
    return undefined;
  } catch (err) {
    if (err instanceof UntilTimeout) return err.message;
    throw err;
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
