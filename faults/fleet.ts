// The cast most scenarios share: publishers round-robin over a topic's
// partitions, two or more consumers in one group and one in a second group.
import type { ConsumerSpec, Harness, PublisherSpec, Slot } from "./harness";

export interface FleetSpec {
  topic: string;
  partitionKeys: string[];
  publishers: number;
  /** Per publisher process, messages per second. */
  ratePerSec: number;
  publisher?: Partial<Omit<PublisherSpec, "topic" | "partitionKeys" | "ratePerSec">>;
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

/** Starts every process at once (loading tsx is the slow part) and waits until all are ready. */
export async function startFleet(h: Harness, spec: FleetSpec): Promise<Fleet> {
  const groups = Object.keys(spec.groups);
  const consumerStarts: Promise<Slot>[] = [];
  let g = 0;
  for (const group of groups) {
    g++;
    for (let i = 1; i <= (spec.groups[group] ?? 0); i++)
      consumerStarts.push(h.startConsumer(`g${g}c${i}`, { ...spec.consumer, topic: spec.topic, group }));
  }
  // Consumers first, so the first messages meet a subscriber already polling.
  const consumers = await Promise.all(consumerStarts);
  const publishers = await Promise.all(
    Array.from({ length: spec.publishers }, (_, i) =>
      h.startPublisher(`p${i + 1}`, {
        ...spec.publisher,
        topic: spec.topic,
        partitionKeys: spec.partitionKeys,
        ratePerSec: spec.ratePerSec,
      }),
    ),
  );
  h.log(`fleet up: ${publishers.length} publishers, ${consumers.length} consumers in ${groups.join(", ")}`);
  return { publishers, consumers, groups };
}
