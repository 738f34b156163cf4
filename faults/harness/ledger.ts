// What the processes of a run said they did, kept as the checker's records:
// every publish attempted and acknowledged, every delivery acked, and the
// deliveries a killed consumer held with no outcome printed (in flight).
// In-process traffic (scenarios that publish or consume themselves) is
// recorded here too, so one checker call sees all of it.
import type { ChildLine, DeliveryAt } from "@/faults/proc/lines";
import type { DeliveryRecord, PublishRecord } from "@/faults/types";

/** A delivery handed to a consumer that was killed before its outcome was printed. */
export interface InFlight extends DeliveryAt {
  group: string;
  topic: string;
  consumer: string;
  n: number;
  resolved: boolean;
}

export interface PublisherTrack {
  see(line: ChildLine): void;
  readonly attempted: number;
}

export class Ledger {
  readonly publishes: PublishRecord[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  readonly inFlight: InFlight[] = [];
  /** Messages whose publish() a kill interrupted: they may or may not be stored. */
  unackedAtKill = 0;
  /** Ids whose publish returned. */
  readonly acked = new Set<string>();
  /** Ids attempted and never acknowledged, and those of them found stored. */
  readonly unacked = new Set<string>();
  readonly storedUnacked = new Set<string>();
  private readonly deliveredByGroup = new Map<string, Set<string>>();
  /** Hand-outs per group and message id, and those whose settle the queue refused. */
  private readonly handedOut = new Map<string, number>();
  private readonly refused = new Set<string>();

  recordPublish(record: PublishRecord): void {
    this.publishes.push(record);
    if (record.acked) {
      this.acked.add(record.id);
      this.unacked.delete(record.id);
    } else if (!this.acked.has(record.id)) this.unacked.add(record.id);
  }

  recordDelivery(record: DeliveryRecord): void {
    this.deliveries.push(record);
    const set = this.deliveredByGroup.get(record.group) ?? new Set<string>();
    set.add(record.id);
    this.deliveredByGroup.set(record.group, set);
  }

  delivered(group: string): ReadonlySet<string> {
    return this.deliveredByGroup.get(group) ?? new Set();
  }

  /** Follows one publisher incarnation: `attempted` counts the ids it tried and has not seen acknowledged. */
  publisherTrack(): PublisherTrack {
    const attempts = new Set<string>();
    return {
      see: (line) => {
        if (line.t !== "pub") return;
        const { t: _t, tries: _tries, delayMs: _delay, ...record } = line;
        this.recordPublish(record);
        if (record.acked) attempts.delete(record.id);
        else attempts.add(record.id);
      },
      get attempted() {
        return attempts.size;
      },
    };
  }

  /** Follows one consumer incarnation's lines; `killed` turns what it held into in-flight deliveries. */
  consumerTrack(group: string, topic: string, consumer: string): FetchTracker {
    return new FetchTracker(group, topic, consumer, (line) => {
      if (line.t === "fetched" || line.t === "refused") {
        const k = `${group}\u0000${line.id}`;
        if (line.t === "fetched") this.handedOut.set(k, (this.handedOut.get(k) ?? 0) + 1);
        else this.refused.add(k);
      } else if (line.t === "del") {
        const { t: _t, attempt: _a, ambiguous: _amb, dbNow: _now, visibleAfter: _va, ...record } = line;
        this.recordDelivery(record);
      }
    });
  }

  /** A killed consumer's deliveries: its acks may or may not have committed. */
  killed(tracker: FetchTracker): void {
    this.inFlight.push(...tracker.pending());
  }

  /**
   * Messages handed to the application more than once in a group although no
   * earlier hand-out ended in a refused settle (visibility timeout) or a kill:
   * after graceful stops alone this must be empty.
   */
  handedOutTwice(): string[] {
    const excused = new Set(this.inFlight.map((f) => `${f.group}\u0000${f.id}`));
    return [...this.handedOut]
      .filter(([k, n]) => n > 1 && !this.refused.has(k) && !excused.has(k))
      .map(([k, n]) => `${k.replace("\u0000", ":")} ×${n}`);
  }

  /** Expected (group, id) pairs not delivered yet: every acknowledged id, and every unacknowledged one found stored. */
  missing(groups: string[]): number {
    let missing = 0;
    const expected = [...this.acked, ...[...this.storedUnacked].filter((id) => !this.acked.has(id))];
    for (const g of groups) {
      const got = this.deliveredByGroup.get(g);
      for (const id of expected) if (!got?.has(id)) missing++;
    }
    return missing;
  }

  topics(): string[] {
    return [...new Set(this.publishes.map((p) => p.topic))];
  }
}

/** One consumer incarnation's fetched lines, followed until their outcome is printed. */
export class FetchTracker {
  private readonly open = new Map<string, DeliveryAt>();
  private lastN = 0;

  constructor(
    readonly group: string,
    readonly topic: string,
    readonly consumer: string,
    private readonly record: (line: ChildLine) => void,
  ) {}

  see(line: ChildLine): void {
    this.record(line);
    if (line.t === "fetched") {
      const { t: _t, ...at } = line;
      this.open.set(key(at), at);
    } else if (line.t === "del") {
      this.open.delete(key(line));
      this.lastN = line.n;
    } else if (line.t === "refused" || line.t === "nacked") this.open.delete(key(line));
  }

  /** Handed out with no outcome printed yet: what a fault striking now may duplicate. */
  get outstanding(): number {
    return this.open.size;
  }

  pending(): InFlight[] {
    return [...this.open.values()].map((at, i) => ({
      ...at,
      group: this.group,
      topic: this.topic,
      consumer: this.consumer,
      n: this.lastN + 1 + i,
      resolved: false,
    }));
  }
}

function key(l: { partitionKey: string; seq: number; attempt: number }): string {
  return `${l.partitionKey}\u0000${l.seq}\u0000${l.attempt}`;
}
