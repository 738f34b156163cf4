// Database connections killed from the server side (KILL CONNECTION) at
// random moments while two publishers, two consumer groups and DLQ moves run.
// Kills are aimed at statements of each kind (publish, fetch, ack, DLQ move)
// by reading PROCESSLIST.INFO. The processes must ride every kill out:
// publishers retry with the same id (the log dedups), consumers retry their
// settles and keep polling. Nothing acked is lost, failing messages end up in
// the DLQ exactly once, order holds, duplicates stay within what was in flight.
import { check } from "../checker";
import { type DbAdmin, openDbAdmin } from "../db-admin";
import {
  childProblems,
  deliveryLines,
  killAll,
  type LineChild,
  publishRecords,
  startLineChild,
  waitFor,
} from "../line-children";
import type { RetryingPublisherConfig } from "../proc/retrying-publisher";
import type { RetryLine } from "../proc/retry-lines";
import type { SettlingConsumerConfig } from "../proc/settling-consumer";
import type { PublishRecord, Scenario, ScenarioResult } from "../types";

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

async function run(opts: { databaseUrl: string; durationMs: number; log?: (line: string) => void }) {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const children: LineChild[] = [];
  let killer: DbAdmin | undefined;
  let observer: DbAdmin | undefined;
  try {
    killer = await openDbAdmin(opts.databaseUrl);
    observer = await openDbAdmin(opts.databaseUrl);
    // Deliveries handed out and not yet settled, per consumer: what a kill may duplicate.
    const outstanding = new Map<string, Set<string>>();
    const track = (line: RetryLine, child: LineChild) => {
      const out = outstanding.get(child.name) ?? new Set<string>();
      outstanding.set(child.name, out);
      if (line.t === "got") out.add(line.id);
      else if (line.t === "del") out.delete(line.record.id);
      else if (line.t === "nacked" || line.t === "expired") out.delete(line.id);
    };
    const consumer = (name: string, group: string, failMarked: boolean) => {
      const cfg: SettlingConsumerConfig = {
        url: opts.databaseUrl,
        topic: TOPIC,
        group,
        consumer: name,
        failMarked,
        options: CONSUMER_OPTIONS,
      };
      const c = startLineChild(name, "settling-consumer", cfg, { onLine: track });
      children.push(c);
      return c;
    };
    const consumers = [
      consumer("billing-1", FAILING_GROUP, true),
      consumer("billing-2", FAILING_GROUP, true),
      consumer("audit-1", OTHER_GROUP, false),
    ];
    await Promise.all(consumers.map((c) => c.ready));
    const publishers = ["pubA", "pubB"].map((name) => {
      const cfg: RetryingPublisherConfig = {
        url: opts.databaseUrl,
        topic: TOPIC,
        publisher: name,
        partitionKeys: PARTITIONS,
        pauseMs: 8,
        failEvery: 12,
      };
      const c = startLineChild(name, "retrying-publisher", cfg);
      children.push(c);
      return c;
    });
    await Promise.all(publishers.map((c) => c.ready));

    const hits = new Map<StatementKind, number>();
    let kills = 0;
    let allowedDuplicates = 0;
    const trafficStarted = performance.now();
    for (let k = 0; performance.now() - trafficStarted < opts.durationMs; k++) {
      await new Promise((r) => setTimeout(r, 80 + Math.random() * 250));
      const target = TARGETS[k % TARGETS.length] as StatementKind;
      const victim = await findVictim(killer, target, 250);
      if (!victim) continue;
      const inFlight = [...outstanding.values()].reduce((n, s) => n + s.size, 0);
      try {
        await killer.query(`KILL CONNECTION ${victim.id}`);
      } catch {
        continue; // it ended by itself meanwhile
      }
      kills++;
      allowedDuplicates += inFlight;
      hits.set(victim.kind, (hits.get(victim.kind) ?? 0) + 1);
    }
    log(`kills by statement: ${[...hits].map(([k, n]) => `${k} ${n}`).join(", ")}`);

    await Promise.all(publishers.map((p) => p.stop()));
    const acked = new Map<string, PublishRecord>();
    for (const r of publishRecords(publishers)) if (r.acked) acked.set(r.id, r);
    const drained = await waitFor(async () => {
      const dels = deliveryLines(consumers);
      const byGroup = (g: string) => new Set(dels.filter((d) => d.record.group === g).map((d) => d.record.id));
      const billing = byGroup(FAILING_GROUP);
      const audit = byGroup(OTHER_GROUP);
      const dlq = await dlqRows(observer as DbAdmin);
      return [...acked.keys()].every((id) => audit.has(id) && (isFailing(id) ? dlq.has(id) : billing.has(id)));
    }, DRAIN_MS);
    if (!drained) log("drain deadline passed; checking what arrived");
    const stoppedCleanly = await Promise.all(consumers.map((c) => c.stop()));

    const publishes = publishRecords(publishers);
    const stored = await observer.query<{ message_id: string }>(
      `SELECT message_id FROM \`${observer.database}\`.queue_messages WHERE topic = ?`,
      [TOPIC],
    );
    const storedIds = new Set(stored.map((r) => r.message_id));
    const dels = deliveryLines(consumers).map((l) => l.record);
    const billing = check({
      publishes: publishes.filter((p) => !isFailing(p.id)),
      deliveries: dels.filter((d) => d.group === FAILING_GROUP),
      groups: [FAILING_GROUP],
      allowedDuplicates,
      storedIds,
    });
    const audit = check({
      publishes,
      deliveries: dels.filter((d) => d.group === OTHER_GROUP),
      groups: [OTHER_GROUP],
      allowedDuplicates,
      storedIds,
    });
    // The failing messages: each stored one is in the DLQ once, for the group that failed it.
    const dlq = await dlqRows(observer);
    const failingExpected = [
      ...new Set(publishes.filter((p) => isFailing(p.id) && (p.acked || storedIds.has(p.id))).map((p) => p.id)),
    ];
    const dlqLost = failingExpected.filter((id) => !dlq.has(id));
    const dlqTwice = [...dlq].filter(([, n]) => n > 1).map(([id]) => id);
    const dlqStray = [...dlq.keys()].filter((id) => !isFailing(id));
    const ackedFailing = dels.filter((d) => d.group === FAILING_GROUP && isFailing(d.id)).map((d) => d.id);

    const problems = [...childProblems(children), ...billing.problems, ...audit.problems];
    if (stoppedCleanly.some((ok) => !ok)) problems.push("a consumer did not stop cleanly on SIGTERM");
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
    const verdicts = [...billing.groups, ...audit.groups];
    const duplicated = verdicts.reduce((n, v) => n + v.duplicated, 0);
    if (duplicated > allowedDuplicates && !problems.some((p) => p.includes("duplicate deliveries")))
      problems.push(`${duplicated} duplicate deliveries, more than the ${allowedDuplicates} in flight at the kills`);
    const result: ScenarioResult = {
      scenario: scenario.name,
      published: acked.size,
      delivered: verdicts.reduce((n, v) => n + v.delivered, 0) + (failingExpected.length - dlqLost.length),
      lost: verdicts.reduce((n, v) => n + v.lost, 0) + dlqLost.length,
      unexpected: verdicts.reduce((n, v) => n + v.unexpected, 0) + dlqStray.length,
      duplicated,
      orderViolations: verdicts.reduce((n, v) => n + v.orderViolations, 0),
      allowedDuplicates,
      faults: kills,
      ok: problems.length === 0,
      problems,
      durationMs: Math.round(performance.now() - started),
    };
    const retried = children.flatMap((c) => c.lines).filter((l) => l.t === "puberr" || l.t === "settleerr").length;
    log(
      `published ${result.published} (${failingExpected.length} failing), kills ${kills}, errors seen and retried ${retried}, ambiguous acks ${deliveryLines(consumers).filter((l) => l.ambiguous).length}`,
    );
    return result;
  } finally {
    await killAll(children);
    await killer?.close();
    await observer?.close();
  }
}

const scenario: Scenario = {
  name: "03-connection-kill",
  title:
    "Database connections killed mid-publish, mid-fetch, mid-ack and mid-DLQ-move: nothing acked is lost, the DLQ gets every failure once, order holds.",
  run,
};

export default scenario;
