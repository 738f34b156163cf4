// The batching both settles and publishes use: while one flush is in flight,
// the next items gather; when it ends, everything gathered (up to what `take`
// allows) goes in the next flush. A lone item goes out at once: there is no
// linger, only items made in the same turn of the event loop join it.

export interface Waiting<T, R = void> {
  item: T;
  resolve(value: R): void;
  reject(err: unknown): void;
}

export class Gatherer<T, R = void> {
  private pending: Waiting<T, R>[] = [];
  private running = false;

  /**
   * @param flush writes a batch and settles each entry's promise itself; it must not throw
   * @param take how many of the waiting entries (at least one) the next flush takes
   */
  constructor(
    private readonly flush: (batch: Waiting<T, R>[]) => Promise<void>,
    private readonly take: (waiting: readonly Waiting<T, R>[]) => number,
  ) {}

  /** Resolves or rejects as the flush that takes `item` says. */
  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        queueMicrotask(() => void this.run());
      }
    });
  }

  private async run() {
    try {
      while (this.pending.length > 0) {
        await this.flush(this.pending.splice(0, Math.max(1, this.take(this.pending))));
      }
    } finally {
      this.running = false;
    }
  }
}
