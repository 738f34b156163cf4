// Database connections killed from the server side (KILL CONNECTION) at
// random moments while two publishers, two consumer groups and DLQ moves run.
// Kills are aimed at statements of each kind (publish, fetch, ack, DLQ move)
// by reading PROCESSLIST.INFO. The processes must ride every kill out:
// publishers retry with the same id (the log dedups), consumers retry their
// settles and keep polling. Nothing acked is lost, failing messages end up in
// the DLQ exactly once, order holds, duplicates stay within what was in flight.
import { faultScenario } from "@/faults/harness/harness";
import type { DbAdmin } from "@/faults/harness/server";
import { missed, pause, until } from "@/faults/wait";

const NAME = "03-connection-kill";
const TOPIC = "orders";
const DLQ_TOPIC = `${TOPIC}_dlq`;
const PARTITIONS = ["p0", "p1", "p2", "p3", "p4", "p5"];
const FAILING_GROUP = "billing";
const OTHER_GROUP = "audit";
const DRAIN_MS = 40_000;

const CONSUMER_OPTIONS = {
  batchSize: 5,
  pollIntervalMs: 50,
  // Long enough that only a kill, not a slow machine, makes a delivery time out.
  visibilityTimeoutMs: 4_000,
  leaseDurationMs: 3_000,
  leaseRenewalIntervalMs: 500,
  maxAttempts: 3,
};

export type StatementKind = "publish" | "fetch" | "ack" | "dlq" | "lease" | "commit" | "other" | "idle-in-tx" | "idle";
const TARGETS: StatementKind[] = ["publish", "fetch", "ack", "dlq", "idle-in-tx"];

/** What the queue is doing on a connection, from its PROCESSLIST.INFO. */
export function classifyStatement(info: string | null, inTransaction: boolean): StatementKind {
  if (!info) return inTransaction ? "idle-in-tx" : "idle";
  const s = info.toLowerCase().replace(/\s+/g, " ");
  if (
    s.includes(`'${DLQ_TOPIC}'`) ||
    s.includes("set state = 2") ||
    /values \('[^']*', '[^']*', '[^']*', \d+, 2,/.test(s)
  )
    return "dlq";
  if (s.includes("insert into queue_partitions") || s.includes("insert into queue_messages")) return "publish";
  if (s.includes("set state = 1")) return "ack";
  if (s.includes("select m.log_id") || s.includes("insert into queue_deliveries") || s.includes("min(x.seq)"))
    return "fetch";
  if (s.includes("queue_group_partitions") || s.includes("queue_subscribers") || s.includes("select p.partition_key"))
    return "lease";
  if (s.startsWith("commit")) return "commit";
  return "other";
}

interface Victim {
  id: number;
  kind: StatementKind;
}

async function findVictim(admin: DbAdmin, target: StatementKind, withinMs: number): Promise<Victim | undefined> {
  const deadline = performance.now() + withinMs;
  let fallback: Victim | undefined;
  // Statements last about a millisecond: look many times for the kind wanted.
  while (performance.now() < deadline) {
    const rows = await admin.query<{ id: number; info: string | null; in_trx: number }>(
      `SELECT p.ID AS id, p.INFO AS info, t.trx_id IS NOT NULL AS in_trx
       FROM information_schema.PROCESSLIST p
       LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
       WHERE p.DB = ? AND p.ID <> CONNECTION_ID() AND p.COMMAND IN ('Query', 'Sleep')`,
      [admin.database],
    );
    const victims = rows.map((r) => ({ id: Number(r.id), kind: classifyStatement(r.info, Number(r.in_trx) === 1) }));
    const hit = victims.find((v) => v.kind === target);
    if (hit) return hit;
    fallback = victims.find((v) => v.kind !== "idle") ?? victims[0] ?? fallback;
  }
  return fallback;
}

async function dlqRows(admin: DbAdmin): Promise<Map<string, number>> {
  const rows = await admin.query<{ message_id: string; n: number }>(
    `SELECT message_id, COUNT(*) AS n FROM \`${admin.database}\`.queue_messages
     WHERE topic = ? AND original_group = ? GROUP BY message_id`,
    [DLQ_TOPIC, FAILING_GROUP],
  );
  return new Map(rows.map((r) => [r.message_id, Number(r.n)]));
}

const isFailing = (id: string) => id.endsWith("-f");

export default faultScenario({
  name: NAME,
  title:
    "Database connections killed mid-publish, mid-fetch, mid-ack and mid-DLQ-move: nothing acked is lost, the DLQ gets every failure once, order holds.",
  options: { subscription: CONSUMER_OPTIONS, stopGraceMs: 15_000 },
  run: async (h, opts) => {
    const admin = await h.admin();
    let retried = 0;
    let ambiguous = 0;
    h.onLine((line) => {
      if (line.t === "puberr" || line.t === "settleerr") retried++;
      else if (line.t === "del" && line.ambiguous) ambiguous++;
    });
    const consumer = (base: string, group: string, failMarked: boolean) =>
      h.procs.startConsumer(base, { topic: TOPIC, group, failMarked, rideOutDbErrors: true });
    const consumers = await Promise.all([
      consumer("billing-1", FAILING_GROUP, true),
      consumer("billing-2", FAILING_GROUP, true),
      consumer("audit-1", OTHER_GROUP, false),
    ]);
    await Promise.all(
      ["pubA", "pubB"].map((base) =>
        h.procs.startPublisher(base, {
          topic: TOPIC,
          partitionKeys: PARTITIONS,
          pace: { pauseMs: 8 },
          keys: "random",
          retry: true,
          failEvery: 12,
        }),
      ),
    );

    const hits = new Map<StatementKind, number>();
    let kills = 0;
    let allowedDuplicates = 0;
    const trafficStarted = performance.now();
    for (let k = 0; performance.now() - trafficStarted < opts.durationMs; k++) {
      await pause(80 + Math.random() * 250);
      const target = TARGETS[k % TARGETS.length] as StatementKind;
      const victim = await findVictim(admin, target, 250);
      if (!victim) continue;
      const inFlight = h.procs.outstanding();
      try {
        await admin.query(`KILL CONNECTION ${victim.id}`);
      } catch {
        continue; // it ended by itself meanwhile
      }
      kills++;
      allowedDuplicates += inFlight;
      hits.set(victim.kind, (hits.get(victim.kind) ?? 0) + 1);
    }
    h.log(`kills by statement: ${[...hits].map(([k, n]) => `${k} ${n}`).join(", ")}`);

    await h.procs.stopPublishers();
    const { acked } = h.ledger;
    const timedOut = await missed(
      until(
        async () => {
          const billing = h.ledger.delivered(FAILING_GROUP);
          const audit = h.ledger.delivered(OTHER_GROUP);
          const dlq = await dlqRows(admin);
          return [...acked].every((id) => audit.has(id) && (isFailing(id) ? dlq.has(id) : billing.has(id)));
        },
        "every acked message in the audit group, and in the billing group or its DLQ",
        DRAIN_MS,
        100,
      ),
    );
    if (timedOut) h.log(`${timedOut}; checking what arrived`);
    await Promise.all(consumers.map((c) => h.procs.terminate(c)));

    const { publishes, deliveries } = h.ledger;
    const storedIds = await h.storedIds([TOPIC]);
    const billing = h.check([FAILING_GROUP], { allowedDuplicates, storedIds, only: (p) => !isFailing(p.id) });
    const audit = h.check([OTHER_GROUP], { allowedDuplicates, storedIds });
    // The failing messages: each stored one is in the DLQ once, for the group that failed it.
    const dlq = await dlqRows(admin);
    const failingExpected = [
      ...new Set(publishes.filter((p) => isFailing(p.id) && (p.acked || storedIds.has(p.id))).map((p) => p.id)),
    ];
    const dlqLost = failingExpected.filter((id) => !dlq.has(id));
    const dlqTwice = [...dlq].filter(([, n]) => n > 1).map(([id]) => id);
    const dlqStray = [...dlq.keys()].filter((id) => !isFailing(id));
    const ackedFailing = deliveries.filter((d) => d.group === FAILING_GROUP && isFailing(d.id)).map((d) => d.id);

    const problems: string[] = [];
    if (dlqLost.length > 0)
      problems.push(
        `${dlqLost.length} messages failed by ${FAILING_GROUP} are not in the DLQ: ${dlqLost.slice(0, 5).join(", ")}`,
      );
    if (dlqTwice.length > 0) problems.push(`messages in the DLQ twice: ${dlqTwice.slice(0, 5).join(", ")}`);
    if (dlqStray.length > 0)
      problems.push(
        `messages in the DLQ that never failed (attempts used up by faults): ${dlqStray.slice(0, 5).join(", ")}`,
      );
    if (ackedFailing.length > 0) problems.push(`failing messages acked: ${ackedFailing.slice(0, 5).join(", ")}`);
    // A kill during a DLQ move rolls its count back with it: the kept count is the number of rows.
    const [kept] = await admin.query<{ n: number | null }>(
      `SELECT SUM(dead_letters) AS n FROM \`${admin.database}\`.queue_dlq_counts WHERE topic = ? AND original_group = ?`,
      [DLQ_TOPIC, FAILING_GROUP],
    );
    const rowsInDlq = [...dlq.values()].reduce((a, b) => a + b, 0);
    if (Number(kept?.n ?? 0) !== rowsInDlq)
      problems.push(`the DLQ's kept count is ${Number(kept?.n ?? 0)}, but it holds ${rowsInDlq} rows`);
    // Each check allows the whole budget: together they may not exceed it either.
    const duplicated = [...billing.groups, ...audit.groups].reduce((n, v) => n + v.duplicated, 0);
    const said = [...billing.problems, ...audit.problems].some((p) => p.includes("duplicate deliveries"));
    if (duplicated > allowedDuplicates && !said)
      problems.push(`${duplicated} duplicate deliveries, more than the ${allowedDuplicates} in flight at the kills`);
    const result = h.result([billing, audit], {
      counts: {
        delivered: failingExpected.length - dlqLost.length,
        lost: dlqLost.length,
        unexpected: dlqStray.length,
      },
      allowedDuplicates,
      faults: kills,
      problems,
    });
    h.log(
      `published ${result.published} (${failingExpected.length} failing), kills ${kills}, errors seen and retried ${retried}, ambiguous acks ${ambiguous}`,
    );
    return result;
  },
});
