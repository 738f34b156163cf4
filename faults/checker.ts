// Judges a fault run from what the processes recorded: every promise the
// queue makes (no loss, nothing invented, order within a partition, bounded
// redelivery) is checked here, with no I/O, so scenarios and unit tests share it.
import type { CheckResult, DeliveryRecord, GroupVerdict, PublishRecord } from "./types";

export interface CheckInput {
  publishes: PublishRecord[];
  deliveries: DeliveryRecord[];
  /** Every consumer group that should have received every stored message; deliveries of other groups are ignored. */
  groups: string[];
  allowedDuplicates: number;
  /** message_id of the rows found in queue_messages after the run, when read. */
  storedIds?: Set<string>;
}

/** How many example ids a problem sentence names. */
const EXAMPLES = 5;

interface Attempt {
  record: PublishRecord;
  acked: boolean;
}

function examples(ids: Iterable<string>): string {
  const list: string[] = [];
  let more = 0;
  for (const id of ids) {
    if (list.length < EXAMPLES) list.push(id);
    else more++;
  }
  return list.join(", ") + (more > 0 ? ` and ${more} more` : "");
}

function partitionOf(r: { topic: string; partitionKey: string }): string {
  return `${r.topic}\u0000${r.partitionKey}`;
}

/**
 * A publisher prints an attempt line before publish() and an acked line after,
 * so one id can appear twice; it counts as acked if any of its lines says so.
 */
function attemptsById(publishes: PublishRecord[]): Map<string, Attempt> {
  const byId = new Map<string, Attempt>();
  for (const p of publishes) {
    const seen = byId.get(p.id);
    if (!seen) byId.set(p.id, { record: p, acked: p.acked });
    else if (p.acked && !seen.acked) byId.set(p.id, { record: p, acked: true });
  }
  return byId;
}

export function check(input: CheckInput): CheckResult {
  const attempts = attemptsById(input.publishes);
  // A delivered message certainly exists, whatever the publisher learned.
  const exists = new Set<string>(input.storedIds ?? []);
  for (const d of input.deliveries) exists.add(d.id);

  const expectedIds: string[] = [];
  for (const [id, a] of attempts) if (a.acked || exists.has(id)) expectedIds.push(id);

  const problems: string[] = [];
  const verdicts: GroupVerdict[] = [];
  let totalDuplicated = 0;
  const allDuplicatedIds = new Set<string>();

  for (const group of input.groups) {
    const mine = input.deliveries.filter((d) => d.group === group);
    const count = new Map<string, number>();
    const seqOf = new Map<string, number>();
    const unexpected = new Set<string>();
    let unexpectedCount = 0;
    let duplicated = 0;
    const duplicatedIds = new Set<string>();
    for (const d of mine) {
      const a = attempts.get(d.id);
      if (!a || (!a.acked && !exists.has(d.id))) {
        unexpected.add(d.id);
        unexpectedCount++;
      }
      const n = (count.get(d.id) ?? 0) + 1;
      count.set(d.id, n);
      if (n > 1) {
        duplicated++;
        duplicatedIds.add(d.id);
      }
      // A requeued dead letter comes back under a new seq: the first one places the id.
      if (!seqOf.has(d.id)) seqOf.set(d.id, d.seq);
    }
    const lost = expectedIds.filter((id) => !count.has(id));

    const violations: string[] = [];
    violations.push(...streamOrderViolations(mine));
    violations.push(...publisherOrderViolations(attempts, seqOf));

    verdicts.push({
      group,
      expected: expectedIds.length,
      delivered: count.size,
      lost: lost.length,
      unexpected: unexpectedCount,
      duplicated,
      orderViolations: violations.length,
    });
    totalDuplicated += duplicated;

    if (lost.length > 0)
      problems.push(`group ${group}: ${lost.length} acknowledged publishes never delivered: ${examples(lost)}`);
    if (unexpectedCount > 0)
      problems.push(
        `group ${group}: ${unexpectedCount} deliveries of messages nobody published: ${examples(unexpected)}`,
      );
    if (violations.length > 0)
      problems.push(`group ${group}: ${violations.length} order violations: ${examples(violations)}`);
    for (const id of duplicatedIds) allDuplicatedIds.add(`${group}:${id}`);
  }

  if (totalDuplicated > input.allowedDuplicates)
    problems.push(
      `${totalDuplicated} duplicate deliveries, more than the ${input.allowedDuplicates} the faults allow: ${examples(allDuplicatedIds)}`,
    );

  const ok =
    verdicts.every((v) => v.lost === 0 && v.unexpected === 0 && v.orderViolations === 0) &&
    totalDuplicated <= input.allowedDuplicates;
  return { groups: verdicts, allowedDuplicates: input.allowedDuplicates, ok, problems };
}

/**
 * Within one consumer's stream, the first time it sees each message of a
 * partition must come in rising seq order: a redelivery may repeat an old
 * message, but a message first seen after a later one means the partition's
 * order was broken.
 */
function streamOrderViolations(deliveries: DeliveryRecord[]): string[] {
  const out: string[] = [];
  const byStream = new Map<string, DeliveryRecord[]>();
  for (const d of deliveries) {
    const key = `${d.consumer}\u0000${partitionOf(d)}`;
    const list = byStream.get(key);
    if (list) list.push(d);
    else byStream.set(key, [d]);
  }
  for (const list of byStream.values()) {
    list.sort((a, b) => a.n - b.n);
    const seen = new Set<string>();
    let last: DeliveryRecord | undefined;
    for (const d of list) {
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      if (last && d.seq <= last.seq)
        out.push(`${d.consumer} got ${d.id} (seq ${d.seq}) after ${last.id} (seq ${last.seq})`);
      last = d;
    }
  }
  return out;
}

/**
 * A publisher's later acknowledged publish into a partition must get a higher
 * seq than its earlier ones: the log keeps each producer's order.
 */
function publisherOrderViolations(attempts: Map<string, Attempt>, seqOf: Map<string, number>): string[] {
  const out: string[] = [];
  const byLane = new Map<string, { order: number; id: string; seq: number }[]>();
  for (const [id, a] of attempts) {
    const seq = seqOf.get(id);
    if (!a.acked || seq === undefined) continue;
    const key = `${a.record.publisher}\u0000${partitionOf(a.record)}`;
    const entry = { order: a.record.order, id, seq };
    const list = byLane.get(key);
    if (list) list.push(entry);
    else byLane.set(key, [entry]);
  }
  for (const list of byLane.values()) {
    list.sort((a, b) => a.order - b.order);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (prev && cur && cur.seq <= prev.seq)
        out.push(`${cur.id} (order ${cur.order}) got seq ${cur.seq}, not above ${prev.id}'s ${prev.seq}`);
    }
  }
  return out;
}
