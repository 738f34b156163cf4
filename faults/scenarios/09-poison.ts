// Poison messages among good ones: payloads the handler cannot decode, a
// handler that throws, a handler that hangs past the visibility timeout. Each
// poison message must reach the DLQ with its reason after exactly maxAttempts
// attempts, and the good messages behind it in its partition must still come
// through, held up by at most about maxAttempts × the visibility timeout.
// A second part runs the real pipeline worker and feeds its `build` consumer
// malformed payloads: they are dead-lettered with the decode reason and the
// worker keeps building.

import { faultScenario, type Harness } from "@/faults/harness/harness";
import { allDeadLetters } from "@/faults/support/dlq";
import { runPipelinePoison } from "@/faults/support/pipeline-poison";
import type { ScenarioOptions, ScenarioResult } from "@/faults/types";
import { missed, pause, until } from "@/faults/wait";
import { createQueue, type Delivery, QueueError } from "@/server/queue";
import type { QueueDelivery } from "@/server/queue/delivery";

const NAME = "09-poison";
const TOPIC = "poison.orders";
const GROUP = "poison";
const PARTITIONS = 4;
const MAX_ATTEMPTS = 3;
const VISIBILITY_MS = 1_000;
/** What a good message may wait beyond the poison's M × V: polls and commits on two busy cores. */
const SLACK_MS = 3_000;

type Kind = "good" | "decode" | "throw" | "hang";

interface Sent {
  id: string;
  kind: Kind;
  partitionKey: string;
  publishedAt: number;
}

interface Seen {
  attempts: number[];
  /** A settle of this message came back DELIVERY_EXPIRED (the machine was slower than the visibility timeout). */
  expired: boolean;
  ackedAt?: number;
}

const payloadOf = (kind: Kind, n: number): Buffer =>
  kind === "decode"
    ? // Not UTF-8 and not JSON: what a producer with the wrong serializer sends.
      Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x01])
    : Buffer.from(JSON.stringify({ kind, n }));

const expectedReason: Record<Exclude<Kind, "good">, RegExp> = {
  decode: /^cannot decode payload: /,
  throw: /^handler threw on throw-\d+$/,
  hang: new RegExp(`^visibility timeout of ${VISIBILITY_MS} ms expired on attempt ${MAX_ATTEMPTS} of ${MAX_ATTEMPTS}`),
};

async function run(h: Harness, opts: ScenarioOptions): Promise<ScenarioResult> {
  const problems: string[] = [];
  const queue = createQueue({ url: opts.databaseUrl });
  h.onClose(() => queue.close());
  const sent = new Map<string, Sent>();
  const seen = new Map<string, Seen>();
  const subs = ["poison-a", "poison-b"].map((name) =>
    queue.subscriber.subscribe(TOPIC, {
      subscriberName: name,
      consumerGroup: GROUP,
      maxAttempts: MAX_ATTEMPTS,
      visibilityTimeoutMs: VISIBILITY_MS,
      pollIntervalMs: 50,
      batchSize: 4,
      leaseDurationMs: 5_000,
      leaseRenewalIntervalMs: 1_000,
      closeTimeoutMs: 2_000,
    }),
  );

  const settle = async (id: string, p: Promise<void>): Promise<boolean> => {
    try {
      await p;
      return true;
    } catch (err) {
      const s = seen.get(id);
      if (err instanceof QueueError && err.code === "DELIVERY_EXPIRED" && s) s.expired = true;
      else problems.push(`settling ${id} failed: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };

  const handle = async (d: Delivery, consumer: string, n: () => number) => {
    const id = d.message.id;
    const s = seen.get(id) ?? { attempts: [], expired: false };
    seen.set(id, s);
    s.attempts.push(d.attempt);
    let body: { kind?: string; n?: number };
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(d.message.payload));
    } catch (err) {
      await settle(id, d.nack({ reason: `cannot decode payload: ${err instanceof Error ? err.message : err}` }));
      return;
    }
    if (body.kind === "hang") return; // never settled: only the visibility timeout ends it
    if (body.kind === "throw") {
      let reason = "";
      try {
        throw new Error(`handler threw on ${id}`);
      } catch (err) {
        reason = (err as Error).message;
      }
      await settle(id, d.nack({ reason }));
      return;
    }
    if (!(await settle(id, d.ack()))) return;
    s.ackedAt = performance.now();
    h.ledger.recordDelivery({
      group: GROUP,
      topic: TOPIC,
      partitionKey: d.message.partitionKey,
      id,
      // The log's seq is not part of the public Delivery; the checker needs it for order.
      seq: (d as QueueDelivery).seq,
      consumer,
      n: n(),
    });
  };

  const consumers = subs.map(async (sub, i) => {
    let n = 0;
    try {
      for await (const d of sub) await handle(d, `c${i}`, () => ++n);
    } catch (err) {
      problems.push(`subscription c${i} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  h.onClose(async () => {
    await Promise.allSettled(subs.map((s) => s.close()));
    await Promise.allSettled(consumers);
  });

  // Traffic: mostly good messages, some that fail fast, and a hang now and
  // then per partition (each blocks its partition for up to M × V).
  const lastHang = new Map<string, number>();
  const orders = new Map<string, number>();
  let n = 0;
  const trafficStart = performance.now();
  while (performance.now() - trafficStart < opts.durationMs) {
    const partitionKey = `P${n % PARTITIONS}`;
    const now = performance.now();
    let kind: Kind = "good";
    if (
      now - trafficStart > 300 &&
      now - (lastHang.get(partitionKey) ?? -Infinity) > 2 * MAX_ATTEMPTS * VISIBILITY_MS
    ) {
      kind = "hang";
      lastHang.set(partitionKey, now);
    } else {
      const r = Math.random();
      if (r < 0.06) kind = "decode";
      else if (r < 0.12) kind = "throw";
    }
    const id = `${kind}-${n}`;
    await queue.publisher.publish(TOPIC, { id, partitionKey, payload: payloadOf(kind, n) });
    sent.set(id, { id, kind, partitionKey, publishedAt: performance.now() });
    if (kind === "good") {
      const order = (orders.get(partitionKey) ?? 0) + 1;
      orders.set(partitionKey, order);
      h.ledger.recordPublish({ topic: TOPIC, partitionKey, id, order, publisher: "p", acked: true });
    }
    n++;
    await pause(10);
  }
  const poisonIds = [...sent.values()].filter((s) => s.kind !== "good").map((s) => s.id);
  const goodIds = [...sent.values()].filter((s) => s.kind === "good").map((s) => s.id);
  h.log(`published ${sent.size} (${poisonIds.length} poison); draining`);

  const dlqTopic = `${TOPIC}_dlq`;
  const timedOut = await missed(
    until(
      async () =>
        goodIds.every((id) => seen.get(id)?.ackedAt !== undefined) &&
        (await queue.inspect.countDlq({ topic: dlqTopic, originalGroup: GROUP })) >= poisonIds.length,
      "the good messages and the poison's DLQ rows",
      2 * MAX_ATTEMPTS * VISIBILITY_MS + 20_000,
      50,
    ),
  );
  if (timedOut) problems.push(timedOut);

  const rows = (await allDeadLetters(queue, dlqTopic)).filter((r) => r.originalGroup === GROUP);
  const dlqById = new Map<string, typeof rows>();
  for (const r of rows) dlqById.set(r.id, [...(dlqById.get(r.id) ?? []), r]);
  let deadLettered = 0;
  for (const id of poisonIds) {
    const s = sent.get(id) as Sent;
    const kind = s.kind as Exclude<Kind, "good">;
    const found = dlqById.get(id) ?? [];
    const attempts = [...(seen.get(id)?.attempts ?? [])].sort((a, b) => a - b);
    if (found.length !== 1) {
      problems.push(`poison ${id} is in the DLQ ${found.length} times, not once`);
      continue;
    }
    const row = found[0] as (typeof rows)[number];
    const reasonOk =
      expectedReason[kind].test(row.reason) || (seen.get(id)?.expired === true && expectedReason.hang.test(row.reason));
    if (!reasonOk) problems.push(`poison ${id} (${kind}) was dead-lettered with reason "${row.reason}"`);
    if (row.failureCount !== MAX_ATTEMPTS)
      problems.push(`poison ${id} was dead-lettered after ${row.failureCount} attempts, not ${MAX_ATTEMPTS}`);
    if (attempts.some((a, i) => a > MAX_ATTEMPTS || attempts[i - 1] === a))
      problems.push(`poison ${id} was handed out with attempts ${attempts.join(",")}`);
    if (reasonOk && row.failureCount === MAX_ATTEMPTS) deadLettered++;
  }
  for (const r of rows) {
    if (sent.get(r.id)?.kind === "good") problems.push(`good message ${r.id} was dead-lettered: ${r.reason}`);
  }
  // The DLQ's kept count (changed in each move's transaction) is the number of rows.
  const kept = await queue.inspect.countDlq({ topic: dlqTopic, originalGroup: GROUP });
  if (kept !== rows.length) problems.push(`the DLQ's kept count is ${kept}, but it holds ${rows.length} rows`);

  // The bound: a good message waits for at most one hung poison ahead of it (hangs are spaced 2 × M × V apart).
  const bound = MAX_ATTEMPTS * VISIBILITY_MS + SLACK_MS;
  const late = goodIds
    .map((id) => ({
      id,
      wait: (seen.get(id)?.ackedAt ?? Number.POSITIVE_INFINITY) - (sent.get(id)?.publishedAt ?? 0),
    }))
    .filter((x) => x.wait > bound && Number.isFinite(x.wait));
  if (late.length > 0)
    problems.push(
      `${late.length} good messages waited longer than ${bound} ms, e.g. ${late
        .slice(0, 3)
        .map((x) => `${x.id} ${Math.round(x.wait)} ms`)
        .join(", ")}`,
    );

  const verdict = h.check([GROUP], { allowedDuplicates: 0 });

  for (const s of subs) await s.close();
  await Promise.all(consumers);

  const pipelinePart = await runPipelinePoison(opts.databaseUrl, MAX_ATTEMPTS);
  problems.push(...pipelinePart.problems);
  h.log(`pipeline part: ${pipelinePart.published} published, ${pipelinePart.delivered} delivered`);

  return h.result(verdict, {
    published: sent.size + pipelinePart.published,
    counts: {
      delivered: deadLettered + pipelinePart.delivered,
      lost: poisonIds.length - deadLettered + pipelinePart.lost,
    },
    faults: poisonIds.length + pipelinePart.poison,
    problems,
  });
}

export default faultScenario({
  name: NAME,
  title:
    "Undecodable, throwing and hanging messages reach the DLQ with their reason after exactly maxAttempts, and the good messages behind them still arrive within the bound",
  run,
});
