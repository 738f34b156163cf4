// The batching settles, publishes and the pipeline's polls use: while one
// flush is in flight, the next items gather; when it ends, everything
// gathered (up to what `take` allows) goes in the next flush. A lone item goes
// out at once: there is no linger. Every flush starts in the event loop's
// check phase (setImmediate), not in a microtask: the items made by every
// callback of the I/O just handled join it. (With a microtask, the first of
// ten handlers that a fetch's rows woke flushed its ack alone and the other
// nine waited for it: ten handlers drained 16 partitions at 1,303 msgs/s
// with 2.52 statements per message; then 2,231 to 2,340, with 1.21. With the
// flushes after the first started at once, the ten handlers could fall into
// two groups of five, each flush taking one group while the other was still
// on its way: 1,334 to 1,787 msgs/s in some runs of the same bench.)

export interface Waiting<T, R = void> {
  item: T;
  resolve(value: R): void;
  reject(err: unknown): void;
}

export class Gatherer<T, R = void> {
  private pending: Waiting<T, R>[] = [];
  private running = 0;

  /**
   * @param flush writes a batch and settles each entry's promise itself; it must not throw
   * @param take how many of the waiting entries (at least one) the next flush takes
   * @param inFlight flushes that may be in flight at once (default 1); items made while
   *   that many are out gather for the next
   */
  constructor(
    private readonly flush: (batch: Waiting<T, R>[]) => Promise<void>,
    private readonly take: (waiting: readonly Waiting<T, R>[]) => number,
    private readonly inFlight = 1,
  ) {}

  /** Resolves or rejects as the flush that takes `item` says. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.running < this.inFlight) {
        this.running++;
        setImmediate(() => void this.run());
      }
    });
  }

  private async run() {
    try {
      while (this.pending.length > 0) {
        await this.flush(this.pending.splice(0, Math.max(1, this.take(this.pending))));
        // The next flush starts in the check phase too: the callers this flush just released
        // make their next items in promise callbacks, and those join it rather than the one after.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running--;
    }
  }
}

/**
 * Settles a flush's entries by writing them together, or, when that fails,
 * each alone, so an entry fails only for its own reasons (a lone entry is
 * written once). `together` returns one result per entry; undefined: the
 * entries cannot go together and are written alone at once. `inOrder`: the
 * writes alone run one after another in entry order, not all at once.
 */
export async function togetherOrAlone<T, R>(
  batch: Waiting<T, R>[],
  write: {
    together: ((items: T[]) => Promise<R[]>) | undefined;
    alone: (item: T) => Promise<R>;
    inOrder: boolean;
    /** Told why the shared write failed, before the entries are written alone. */
    onFallback?: (err: unknown) => void;
  },
): Promise<void> {
  if (batch.length > 1 && write.together) {
    try {
      const results = await write.together(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        w.resolve(results[i] as R);
      });
      return;
    } catch (err) {
      write.onFallback?.(err);
    }
  }
  const one = async (w: Waiting<T, R>) => {
    try {
      w.resolve(await write.alone(w.item));
    } catch (err) {
      w.reject(err);
    }
  };
  if (!write.inOrder) {
    await Promise.all(batch.map(one));
    return;
  }
  for (const w of batch) await one(w);
}
