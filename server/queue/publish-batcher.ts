// Concurrent publish() calls of one queue share transactions: while one
// commit is in flight the next calls gather, and when it ends they are
// written together, in the order they were made (so seqs within a partition
// follow call order), in one transaction and one log flush. A lone call goes
// out at once. Each call resolves once its own rows are committed. If a
// shared transaction fails, every call in it is written again on its own, so
// a failing call fails alone (a repeat is harmless: dedup keeps one row).
import type { QueueDb } from "./db";
import { Gatherer, togetherOrAlone, type Waiting } from "./gather";
import { appendStatements, type LogRow } from "./log";

/** One publish() call: its rows and their payload bytes. */
interface Call {
  rows: LogRow[];
  bytes: number;
}

export class PublishBatcher {
  private readonly gatherer: Gatherer<Call>;

  /**
   * @param maxRows rows one shared transaction holds at most
   * @param maxBytes payload bytes one shared transaction holds at most
   */
  constructor(
    private readonly db: QueueDb,
    maxRows: number,
    maxBytes: number,
  ) {
    this.gatherer = new Gatherer(
      (batch) => this.flush(batch),
      (waiting) => countWithin(waiting, maxRows, maxBytes),
    );
  }

  /** Resolves once `rows` (`bytes` of payload in all) are committed. */
  append(rows: LogRow[], bytes: number): Promise<void> {
    return this.gatherer.add({ rows, bytes });
  }

  private flush(batch: Waiting<Call>[]) {
    return togetherOrAlone(batch, {
      together: async (calls) => {
        await this.write(calls.flatMap((c) => c.rows));
        return calls.map(() => undefined);
      },
      alone: (call) => this.write(call.rows).then(() => undefined),
      // Seqs within a partition follow call order, also when the calls are written again alone.
      inOrder: true,
    });
  }

  /** One partition: BEGIN, the head bump, the insert and COMMIT in one round trip (one statement on MariaDB). */
  private write(rows: LogRow[]): Promise<unknown> {
    return this.db.tx(async (c) => c.commitWith(await appendStatements(c, rows), { results: false }));
  }
}

/** How many of the waiting calls, in order, fit the row and byte limits (at least one). */
function countWithin(waiting: readonly Waiting<Call>[], maxRows: number, maxBytes: number): number {
  let rows = 0;
  let bytes = 0;
  let n = 0;
  for (const { item } of waiting) {
    if (n > 0 && (rows + item.rows.length > maxRows || bytes + item.bytes > maxBytes)) break;
    rows += item.rows.length;
    bytes += item.bytes;
    n++;
  }
  return n;
}
