// The cast most scenarios share: publishers taking the topic's partitions in
// turn at a steady rate, two or more consumers in one group and one in a
// second group.
import type { Harness } from "./harness";
import type { ConsumerSpec, PublisherSpec, Slot } from "./processes";

export interface FleetSpec {
  topic: string;
  partitionKeys: string[];
  publishers: number;
  /** Per publisher process, messages per second. */
  ratePerSec: number;
  publisher?: Partial<Omit<PublisherSpec, "topic" | "partitionKeys" | "pace">>;
  /** Consumer processes per group, e.g. { g1: 2, g2: 1 }. */
  groups: Record<string, number>;
  consumer?: Partial<Omit<ConsumerSpec, "topic" | "group">>;
}

export interface Fleet {
  publishers: Slot[];
  consumers: Slot[];
  groups: string[];
}

export function partitionKeys(n: number, prefix = "k"): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** What each consumer of a steady fleet does with a delivery: 0–5 ms of simulated work before settling it. */
export const STEADY_CONSUMER = { handleMs: [0, 5] } satisfies FleetSpec["consumer"];

/**
 * The fleet of the scenarios that strike consumers while traffic flows: two
 * publishers at 50 messages a second each over `partitions` keys, `g1`
 * consumers in g1 and one in g2, each a STEADY_CONSUMER. One declaration, so
 * those scenarios differ only where they say so.
 */
export function steadyFleet(spec: { topic: string; partitions: number; g1: number }): FleetSpec {
  return {
    topic: spec.topic,
    partitionKeys: partitionKeys(spec.partitions),
    publishers: 2,
    ratePerSec: 50,
    groups: { g1: spec.g1, g2: 1 },
    consumer: STEADY_CONSUMER,
  };
}

/** Starts every process at once (loading tsx is the slow part) and waits until all are ready. */
export async function startFleet(h: Harness, spec: FleetSpec): Promise<Fleet> {
  const groups = Object.keys(spec.groups);
  const consumerStarts: Promise<Slot>[] = [];
  let g = 0;
  for (const group of groups) {
    g++;
    for (let i = 1; i <= (spec.groups[group] ?? 0); i++)
      consumerStarts.push(h.procs.startConsumer(`g${g}c${i}`, { ...spec.consumer, topic: spec.topic, group }));
  }
  // Consumers first, so the first messages meet a subscriber already polling.
  const consumers = await Promise.all(consumerStarts);
  const publishers = await Promise.all(
    Array.from({ length: spec.publishers }, (_, i) =>
      h.procs.startPublisher(`p${i + 1}`, {
        ...spec.publisher,
        topic: spec.topic,
        partitionKeys: spec.partitionKeys,
        pace: { perSecond: spec.ratePerSec },
      }),
    ),
  );
  h.log(`fleet up: ${publishers.length} publishers, ${consumers.length} consumers in ${groups.join(", ")}`);
  return { publishers, consumers, groups };
}
