// Deadlocks (1213) and lock-wait timeouts (1205) provoked on purpose against
// the queue's own transactions. Lockers of the scenario's own take the rows
// the queue locks, in the crossing order: a partition head row after a higher
// one (two-partition publishes lock them in sorted order), a delivery row
// before its group-partition row (an ack locks the group-partition row
// first). Lockers carry ballast rows so InnoDB picks the queue's transaction
// as the victim, which must run again from its start. A prober whose sessions
// wait at most 1 s for a lock publishes while a locker holds its partition for
// longer, meeting 1205, and another publishes the same id three times at once,
// which must store one row with every publish succeeding. Nothing is lost,
// duplicated or reordered.
import mysql from "mysql2/promise";
import { classifyMysqlError, createQueue, type Queue } from "../../server/queue";
import { type Executor, openDb, type QueueDb } from "../../server/queue/db";
import { appendToLog } from "../../server/queue/log";
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
import type { PublishRecord, Scenario, ScenarioOptions, ScenarioResult } from "../types";

const TOPIC = "payments";
const PARTITIONS = ["p0", "p1", "p2", "p3"];
const SLOW_PARTITION = "slow";
const GROUPS = ["ledger", "fraud"];
const DRAIN_MS = 40_000;
/** Rows a locker writes first, so it outweighs the queue's transaction and survives the deadlock. */
const BALLAST_ROWS = 40;

const CONSUMER_OPTIONS = {
  batchSize: 5,
  pollIntervalMs: 50,
  visibilityTimeoutMs: 8_000,
  leaseDurationMs: 4_000,
  leaseRenewalIntervalMs: 500,
  maxAttempts: 5,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)] as T;

async function lockerConnection(url: string) {
  const conn = await mysql.createConnection({ uri: url });
  // The queue's own session settings, so a locker locks what the queue would.
  await conn.query("SET time_zone = '+00:00'");
  await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  conn.on("error", () => {});
  return conn;
}

interface LockerStats {
  rounds: number;
  /** Rounds in which the locker itself was the victim. */
  victim: number;
}

/** One locker round: ballast, the first lock, a pause, the crossing lock, then undo it all. */
async function lockerRound(conn: mysql.Connection, stats: LockerStats, locks: () => Promise<void>) {
  stats.rounds++;
  try {
    await conn.query("START TRANSACTION");
    await conn.query(
      `INSERT INTO fault_ballast (pad) VALUES ${Array.from({ length: BALLAST_ROWS }, () => "(REPEAT('x', 100))").join(", ")}`,
    );
    await locks();
  } catch (err) {
    const c = classifyMysqlError(err);
    if (c === "deadlock" || c === "lock_wait_timeout") stats.victim++;
    else throw err;
  } finally {
    await conn.query("ROLLBACK");
  }
}

/** Crosses two-partition publishes: they lock the lower partition key first, this the higher. */
async function partitionLocker(conn: mysql.Connection, stats: LockerStats) {
  const [a, b] = [...PARTITIONS]
    .sort(() => Math.random() - 0.5)
    .slice(0, 2)
    .sort() as [string, string];
  await lockerRound(conn, stats, async () => {
    await conn.query("SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ? FOR UPDATE", [
      TOPIC,
      b,
    ]);
    await conn.query("DO SLEEP(?)", [0.02 + Math.random() * 0.03]);
    await conn.query("SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ? FOR UPDATE", [
      TOPIC,
      a,
    ]);
  });
}

/** Crosses acks and nacks: they lock the group-partition row, then the delivery row; this the other way. */
async function deliveryLocker(conn: mysql.Connection, stats: LockerStats) {
  const group = pick(GROUPS);
  const partitionKey = pick(PARTITIONS);
  await lockerRound(conn, stats, async () => {
    const [rows] = await conn.query(
      "SELECT seq FROM queue_deliveries WHERE consumer_group = ? AND topic = ? AND partition_key = ? AND state = 0 FOR UPDATE",
      [group, TOPIC, partitionKey],
    );
    if ((rows as unknown[]).length === 0) return;
    await conn.query("DO SLEEP(?)", [0.02 + Math.random() * 0.03]);
    await conn.query(
      "SELECT watermark FROM queue_group_partitions WHERE consumer_group = ? AND topic = ? AND partition_key = ? FOR UPDATE",
      [group, TOPIC, partitionKey],
    );
  });
}

/** A queue pool whose sessions give up on a lock after 1 s, so a held lock becomes 1205 rather than a long wait. */
export function openImpatientDb(url: string): QueueDb {
  const db = openDb(url, 2);
  db.pool.on("connection", (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (err: unknown) => void): void };
    core.query("SET SESSION innodb_lock_wait_timeout = 1", () => {});
  });
  return db;
}

/** Runs fn in db.tx, counting the attempts and classifying what each failed attempt met. */
export async function countedTx(db: QueueDb, fn: (c: Executor, attempt: number) => Promise<void>) {
  const errors: string[] = [];
  let attempts = 0;
  const watch = (c: Executor): Executor => ({
    query: <T>(sql: string, params?: unknown[]) =>
      c.query<T>(sql, params).catch((err: unknown) => {
        errors.push(classifyMysqlError(err));
        throw err;
      }),
    execute: (sql, params) =>
      c.execute(sql, params).catch((err: unknown) => {
        errors.push(classifyMysqlError(err));
        throw err;
      }),
    script: (statements) =>
      c.script(statements).catch((err: unknown) => {
        errors.push(classifyMysqlError(err));
        throw err;
      }),
  });
  await db.tx((c) => fn(watch(c), ++attempts));
  return { attempts, errors };
}

async function innodbDeadlocks(admin: DbAdmin): Promise<number> {
  const [row] = await admin.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
  return Number(row?.Value ?? 0);
}

async function run(opts: ScenarioOptions): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const children: LineChild[] = [];
  const connections: mysql.Connection[] = [];
  let admin: DbAdmin | undefined;
  let impatient: QueueDb | undefined;
  let queue: Queue | undefined;
  try {
    admin = await openDbAdmin(opts.databaseUrl);
    const db = `\`${admin.database}\``;
    await admin.query(
      `CREATE TABLE ${db}.fault_ballast (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, pad varchar(100) NOT NULL)`,
    );
    const deadlocksBefore = await innodbDeadlocks(admin);
    const outstanding = new Map<string, Set<string>>();
    const track = (line: RetryLine, child: LineChild) => {
      const out = outstanding.get(child.name) ?? new Set<string>();
      outstanding.set(child.name, out);
      if (line.t === "got") out.add(line.id);
      else if (line.t === "del") out.delete(line.record.id);
      else if (line.t === "nacked" || line.t === "expired") out.delete(line.id);
    };
    const consumers = ["ledger-1", "ledger-2", "fraud-1"].map((name) => {
      const cfg: SettlingConsumerConfig = {
        url: opts.databaseUrl,
        topic: TOPIC,
        group: name.replace(/-\d+$/, ""),
        consumer: name,
        options: CONSUMER_OPTIONS,
      };
      const c = startLineChild(name, "settling-consumer", cfg, { onLine: track });
      children.push(c);
      return c;
    });
    await Promise.all(consumers.map((c) => c.ready));
    const publishers = ["pubA", "pubB"].map((name) => {
      const cfg: RetryingPublisherConfig = {
        url: opts.databaseUrl,
        topic: TOPIC,
        publisher: name,
        partitionKeys: PARTITIONS,
        pauseMs: 10,
        pairChance: 0.6,
      };
      const c = startLineChild(name, "retrying-publisher", cfg);
      children.push(c);
      return c;
    });
    await Promise.all(publishers.map((c) => c.ready));

    // In-process publishes: the same id three times at once, and the prober meeting lock-wait timeouts.
    queue = createQueue({ url: opts.databaseUrl, connectionLimit: 4 });
    impatient = openImpatientDb(opts.databaseUrl);
    const inProcess: PublishRecord[] = [];
    const orders = new Map<string, number>();
    const record = (publisher: string, partitionKey: string, id: string): PublishRecord => {
      const key = `${publisher}/${partitionKey}`;
      const order = (orders.get(key) ?? 0) + 1;
      orders.set(key, order);
      return { topic: TOPIC, partitionKey, id, order, publisher, acked: false };
    };
    const problems: string[] = [];
    // The run's length counts from here: on a loaded machine the children's start-up alone can take longer.
    const stopAt = performance.now() + opts.durationMs;
    const running = () => performance.now() < stopAt;

    const lockers = { partition: { rounds: 0, victim: 0 }, delivery: { rounds: 0, victim: 0 } };
    const lockerLoop = async (kind: "partition" | "delivery") => {
      const conn = await lockerConnection(opts.databaseUrl);
      connections.push(conn);
      while (running()) {
        if (kind === "partition") await partitionLocker(conn, lockers.partition);
        else await deliveryLocker(conn, lockers.delivery);
        await sleep(10 + Math.random() * 60);
      }
    };

    let dupRounds = 0;
    const dupLoop = async () => {
      const q = queue as Queue;
      for (let n = 1; running(); n++) {
        const r = record("dup", pick(PARTITIONS), `dup-${n}`);
        inProcess.push(r);
        const results = await Promise.allSettled(
          [1, 2, 3].map(() => q.publisher.publish(TOPIC, { id: r.id, partitionKey: r.partitionKey, payload: "d" })),
        );
        const failed = results.filter((x) => x.status === "rejected");
        if (failed.length > 0)
          problems.push(
            `a concurrent publish of the same id ${r.id} failed: ${String((failed[0] as PromiseRejectedResult).reason)}`,
          );
        else inProcess.push({ ...r, acked: true });
        dupRounds++;
        await sleep(100 + Math.random() * 200);
      }
    };

    let lockWaitTimeouts = 0;
    let probes = 0;
    const probeLoop = async () => {
      const holder = await lockerConnection(opts.databaseUrl);
      connections.push(holder);
      const probe = async (n: number) => {
        const r = record("prober", SLOW_PARTITION, `slow-${n}`);
        inProcess.push(r);
        const rows = [
          {
            topic: TOPIC,
            partitionKey: r.partitionKey,
            messageId: r.id,
            origin: "",
            payload: Buffer.from("s"),
            metadata: undefined,
            delayMs: 0,
          },
        ];
        const out = await countedTx(impatient as QueueDb, async (c, attempt) => {
          current = attempt;
          await appendToLog(c, rows);
        });
        inProcess.push({ ...r, acked: true });
        return out;
      };
      let current = 0;
      await probe(0); // makes the partition's head row, the lock to hold
      for (let n = 1; running(); n++) {
        await holder.query("START TRANSACTION");
        await holder.query("SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ? FOR UPDATE", [
          TOPIC,
          SLOW_PARTITION,
        ]);
        current = 0;
        const pending = probe(n);
        // Hold the lock until the probe's first try has timed out and its second has begun.
        await waitFor(() => current >= 2, 10_000, 20);
        await holder.query("ROLLBACK");
        const { attempts, errors } = await pending;
        probes++;
        lockWaitTimeouts += errors.filter((e) => e === "lock_wait_timeout").length;
        if (attempts < 2 || errors[0] !== "lock_wait_timeout")
          problems.push(
            `probe ${n}: ${attempts} attempts, errors ${errors.join(", ") || "none"}; wanted a 1205 then a retry`,
          );
        await sleep(300 + Math.random() * 500);
      }
    };

    const loops = [lockerLoop("partition"), lockerLoop("delivery"), dupLoop(), probeLoop()];
    const loopErrors = (await Promise.allSettled(loops)).filter((x) => x.status === "rejected");
    for (const e of loopErrors) problems.push(`a fault loop failed: ${String((e as PromiseRejectedResult).reason)}`);
    const deadlocks = (await innodbDeadlocks(admin)) - deadlocksBefore;
    const allowedDuplicates = 0;

    await Promise.all(publishers.map((p) => p.stop()));
    const publishes = [...publishRecords(publishers), ...inProcess];
    const acked = new Set(publishes.filter((p) => p.acked).map((p) => p.id));
    const drained = await waitFor(() => {
      const dels = deliveryLines(consumers);
      return GROUPS.every((g) => {
        const got = new Set(dels.filter((d) => d.record.group === g).map((d) => d.record.id));
        return [...acked].every((id) => got.has(id));
      });
    }, DRAIN_MS);
    if (!drained) log("drain deadline passed; checking what arrived");
    const stoppedCleanly = await Promise.all(consumers.map((c) => c.stop()));

    const stored = await admin.query<{ message_id: string; n: number }>(
      `SELECT message_id, COUNT(*) AS n FROM ${db}.queue_messages WHERE topic = ? GROUP BY message_id`,
      [TOPIC],
    );
    const twice = stored.filter((r) => Number(r.n) > 1).map((r) => r.message_id);
    if (twice.length > 0) problems.push(`ids stored more than once: ${twice.slice(0, 5).join(", ")}`);
    const verdict = check({
      publishes,
      deliveries: deliveryLines(consumers).map((l) => l.record),
      groups: GROUPS,
      allowedDuplicates,
      storedIds: new Set(stored.map((r) => r.message_id)),
    });
    problems.unshift(...childProblems(children));
    problems.push(...verdict.problems);
    if (stoppedCleanly.some((ok) => !ok)) problems.push("a consumer did not stop cleanly on SIGTERM");
    const surfaced = children
      .flatMap((c) => c.lines)
      .filter((l) => (l.t === "puberr" || l.t === "settleerr") && l.kind !== "connection").length;
    log(
      `deadlocks ${deadlocks} (server-wide; lockers were the victim ${lockers.partition.victim + lockers.delivery.victim} times in ${lockers.partition.rounds + lockers.delivery.rounds} rounds), lock-wait timeouts ${lockWaitTimeouts} in ${probes} probes, same-id rounds ${dupRounds}, lock errors surfaced past the library's retries ${surfaced}`,
    );
    const sum = (f: (v: (typeof verdict.groups)[number]) => number) => verdict.groups.reduce((n, v) => n + f(v), 0);
    return {
      scenario: scenario.name,
      published: acked.size,
      delivered: sum((v) => v.delivered),
      lost: sum((v) => v.lost),
      unexpected: sum((v) => v.unexpected),
      duplicated: sum((v) => v.duplicated),
      orderViolations: sum((v) => v.orderViolations),
      allowedDuplicates,
      faults: deadlocks + lockWaitTimeouts,
      ok: problems.length === 0,
      problems,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await killAll(children);
    for (const c of connections) c.destroy();
    await queue?.close();
    await impatient?.end();
    await admin?.close();
  }
}

const scenario: Scenario = {
  name: "07-deadlocks",
  title:
    "Deadlocks and lock-wait timeouts forced on publishes and acks, and the same id published concurrently: retried from the start, one row per id, nothing lost or doubled.",
  run,
};

export default scenario;
