// Concurrent publish() calls of one queue share transactions: while one
// commit is in flight the next calls gather, and when it ends they are
// written together, in the order they were made (so seqs within a partition
// follow call order), in one transaction and one log flush. A lone call goes
// out at once. Each call resolves once its own rows are committed. If a
// shared transaction fails, every call in it is written again on its own, so
// a failing call fails alone (a repeat is harmless: dedup keeps one row).
import type { QueueDb } from "./db";
import { appendStatements, type LogRow } from "./log";

interface Pending {
  rows: LogRow[];
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class PublishBatcher {
  private pending: Pending[] = [];
  private running = false;

  /**
   * @param maxRows rows one shared transaction holds at most
   * @param maxBytes payload bytes one shared transaction holds at most
   */
  constructor(
    private readonly db: QueueDb,
    private readonly maxRows: number,
    private readonly maxBytes: number,
  ) {}

  append(rows: LogRow[]): Promise<void> {
    const bytes = rows.reduce((n, r) => n + r.payload.byteLength, 0);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ rows, bytes, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Calls made in the same turn of the event loop join the first transaction.
        queueMicrotask(() => void this.run());
      }
    });
  }

  private async run() {
    try {
      while (this.pending.length > 0) await this.flush(this.take());
    } finally {
      this.running = false;
    }
  }

  /** The calls waiting, in order, up to the row and byte limits (at least one). */
  private take(): Pending[] {
    let rows = 0;
    let bytes = 0;
    let n = 0;
    for (const p of this.pending) {
      if (n > 0 && (rows + p.rows.length > this.maxRows || bytes + p.bytes > this.maxBytes)) break;
      rows += p.rows.length;
      bytes += p.bytes;
      n++;
    }
    return this.pending.splice(0, n);
  }

  private async flush(batch: Pending[]) {
    try {
      await this.write(batch.flatMap((p) => p.rows));
      for (const p of batch) p.resolve();
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
    }
    for (const p of batch) {
      try {
        await this.write(p.rows);
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }

  /** One partition: BEGIN, the head bump, the insert and COMMIT in one round trip. */
  private write(rows: LogRow[]): Promise<unknown> {
    return this.db.tx(async (c) => c.commitWith(await appendStatements(c, rows)));
  }
}
