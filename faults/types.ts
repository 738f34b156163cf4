// The fault suite's shared shapes: what the processes record, what the
// checker concludes, and what every scenario hands the soak table.

/** One publish a publisher process attempted. `acked` is true once publish() returned. */
export interface PublishRecord {
  topic: string;
  partitionKey: string;
  /** The message id (dedup key), unique within the run. */
  id: string;
  /** Position of this publish among the publisher's publishes to the same partition, from 1. */
  order: number;
  publisher: string;
  acked: boolean;
}

/** One delivery a consumer process finished handling (its ack returned). */
export interface DeliveryRecord {
  group: string;
  topic: string;
  partitionKey: string;
  id: string;
  /** The log's sequence number within the partition. */
  seq: number;
  consumer: string;
  /** Monotonic position of this record in the consumer's own output, from 1. */
  n: number;
}

export interface GroupVerdict {
  group: string;
  /** Acknowledged publishes expected by this group. */
  expected: number;
  /** Distinct messages delivered (acked) at least once. */
  delivered: number;
  /** Acknowledged publishes never delivered. */
  lost: number;
  /** Deliveries of ids never attempted by any publisher (or attempted but neither acked nor stored). */
  unexpected: number;
  /** Deliveries beyond the first of the same message. */
  duplicated: number;
  /** Pairs delivered out of seq order within one partition (first deliveries). */
  orderViolations: number;
}

export interface CheckResult {
  groups: GroupVerdict[];
  /** Duplicates allowed by the faults (deliveries in flight when a fault struck). */
  allowedDuplicates: number;
  ok: boolean;
  /** Sentences naming what failed, with example ids. Empty when ok. */
  problems: string[];
}

/** One row of the soak table. */
export interface ScenarioResult {
  scenario: string;
  published: number;
  delivered: number;
  lost: number;
  unexpected: number;
  duplicated: number;
  orderViolations: number;
  allowedDuplicates: number;
  /** Faults injected (kills, connection kills, deadlocks, ...). */
  faults: number;
  ok: boolean;
  problems: string[];
  durationMs: number;
}

export interface ScenarioOptions {
  /** A fresh, migrated database of the scenario's own. */
  databaseUrl: string;
  /** How long to keep traffic and faults going, ms. Short in npm test, long in the soak. */
  durationMs: number;
  /** Progress lines; the soak prints them, tests may drop them. */
  log?: (line: string) => void;
}

export interface Scenario {
  /** "01-consumer-sigkill" and so on: the file name without .ts. */
  name: string;
  /** One sentence: the fault and the promise checked. */
  title: string;
  run(opts: ScenarioOptions): Promise<ScenarioResult>;
}
