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
import { faultScenario, type Harness } from "@/faults/harness/harness";
import type { DbAdmin } from "@/faults/harness/server";
import { pick } from "@/faults/random";
import type { PublishRecord } from "@/faults/types";
import { missed, pause, until } from "@/faults/wait";
import { classifyMysqlError, createQueue } from "@/server/queue";
import { type Executor, openDb, type QueueDb } from "@/server/queue/db";
import { appendToLog } from "@/server/queue/log";

const NAME = "07-deadlocks";
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

/** The queue's transactions met from this process: the same id three times at once, and the prober meeting lock-wait timeouts. */
function inProcessTraffic(h: Harness, url: string, running: () => boolean, problems: string[]) {
  const queue = createQueue({ url, connectionLimit: 4 });
  h.onClose(() => queue.close());
  const impatient = openImpatientDb(url);
  h.onClose(() => impatient.end());
  const orders = new Map<string, number>();
  const record = (publisher: string, partitionKey: string, id: string): PublishRecord => {
    const key = `${publisher}/${partitionKey}`;
    const order = (orders.get(key) ?? 0) + 1;
    orders.set(key, order);
    return { topic: TOPIC, partitionKey, id, order, publisher, acked: false };
  };
  const stats = { dupRounds: 0, probes: 0, lockWaitTimeouts: 0 };

  const dupLoop = async () => {
    for (let n = 1; running(); n++) {
      const r = record("dup", pick(PARTITIONS), `dup-${n}`);
      h.ledger.recordPublish(r);
      const results = await Promise.allSettled(
        [1, 2, 3].map(() => queue.publisher.publish(TOPIC, { id: r.id, partitionKey: r.partitionKey, payload: "d" })),
      );
      const failed = results.filter((x) => x.status === "rejected");
      if (failed.length > 0)
        problems.push(
          `a concurrent publish of the same id ${r.id} failed: ${String((failed[0] as PromiseRejectedResult).reason)}`,
        );
      else h.ledger.recordPublish({ ...r, acked: true });
      stats.dupRounds++;
      await pause(100 + Math.random() * 200);
    }
  };

  const probeLoop = async () => {
    const holder = await lockerConnection(url);
    h.onClose(() => holder.destroy());
    let current = 0;
    const probe = async (n: number) => {
      const r = record("prober", SLOW_PARTITION, `slow-${n}`);
      h.ledger.recordPublish(r);
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
      const out = await countedTx(impatient, async (c, attempt) => {
        current = attempt;
        await appendToLog(c, rows);
      });
      h.ledger.recordPublish({ ...r, acked: true });
      return out;
    };
    await probe(0); // makes the partition's head row, the lock to hold
    for (let n = 1; running(); n++) {
      await holder.query("START TRANSACTION");
      await holder.query("SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ? FOR UPDATE", [
        TOPIC,
        SLOW_PARTITION,
      ]);
      current = 0;
      const pending = probe(n);
      // Hold the lock until the probe's first try has timed out and its second has begun; the check below says if it never did.
      await missed(until(() => current >= 2, `probe ${n}'s second try`, 10_000, 20));
      await holder.query("ROLLBACK");
      const { attempts, errors } = await pending;
      stats.probes++;
      stats.lockWaitTimeouts += errors.filter((e) => e === "lock_wait_timeout").length;
      if (attempts < 2 || errors[0] !== "lock_wait_timeout")
        problems.push(
          `probe ${n}: ${attempts} attempts, errors ${errors.join(", ") || "none"}; wanted a 1205 then a retry`,
        );
      await pause(300 + Math.random() * 500);
    }
  };

  return { loops: [dupLoop(), probeLoop()], stats };
}

export default faultScenario({
  name: NAME,
  title:
    "Deadlocks and lock-wait timeouts forced on publishes and acks, and the same id published concurrently: retried from the start, one row per id, nothing lost or doubled.",
  options: { subscription: CONSUMER_OPTIONS, stopGraceMs: 15_000 },
  run: async (h, opts) => {
    const admin = await h.admin();
    const db = `\`${admin.database}\``;
    await admin.query(
      `CREATE TABLE ${db}.fault_ballast (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, pad varchar(100) NOT NULL)`,
    );
    const deadlocksBefore = await innodbDeadlocks(admin);
    let surfaced = 0;
    h.onLine((line) => {
      if ((line.t === "puberr" || line.t === "settleerr") && line.kind !== "connection") surfaced++;
    });
    const consumers = await Promise.all(
      ["ledger-1", "ledger-2", "fraud-1"].map((base) =>
        h.procs.startConsumer(base, { topic: TOPIC, group: base.replace(/-\d+$/, ""), rideOutDbErrors: true }),
      ),
    );
    await Promise.all(
      ["pubA", "pubB"].map((base) =>
        h.procs.startPublisher(base, {
          topic: TOPIC,
          partitionKeys: PARTITIONS,
          pace: { pauseMs: 10 },
          keys: "random",
          batchMax: 2,
          batchChance: 0.6,
          retry: true,
        }),
      ),
    );

    const problems: string[] = [];
    // The run's length counts from here: on a loaded machine the children's start-up alone can take longer.
    const stopAt = performance.now() + opts.durationMs;
    const running = () => performance.now() < stopAt;

    const lockers = { partition: { rounds: 0, victim: 0 }, delivery: { rounds: 0, victim: 0 } };
    const lockerLoop = async (kind: "partition" | "delivery") => {
      const conn = await lockerConnection(opts.databaseUrl);
      h.onClose(() => conn.destroy());
      while (running()) {
        if (kind === "partition") await partitionLocker(conn, lockers.partition);
        else await deliveryLocker(conn, lockers.delivery);
        await pause(10 + Math.random() * 60);
      }
    };
    const lockerLoops = [lockerLoop("partition"), lockerLoop("delivery")];
    const inProcess = inProcessTraffic(h, opts.databaseUrl, running, problems);
    const loops = [...lockerLoops, ...inProcess.loops];
    const loopErrors = (await Promise.allSettled(loops)).filter((x) => x.status === "rejected");
    for (const e of loopErrors) problems.push(`a fault loop failed: ${String((e as PromiseRejectedResult).reason)}`);
    const deadlocks = (await innodbDeadlocks(admin)) - deadlocksBefore;

    await h.procs.stopPublishers();
    const { acked } = h.ledger;
    const timedOut = await missed(
      until(
        () => GROUPS.every((g) => [...acked].every((id) => h.ledger.delivered(g).has(id))),
        "every acked message in each group",
        DRAIN_MS,
        100,
      ),
    );
    if (timedOut) h.log(`${timedOut}; checking what arrived`);
    await Promise.all(consumers.map((c) => h.procs.terminate(c)));

    const stored = await admin.query<{ message_id: string; n: number }>(
      `SELECT message_id, COUNT(*) AS n FROM ${db}.queue_messages WHERE topic = ? GROUP BY message_id`,
      [TOPIC],
    );
    const twice = stored.filter((r) => Number(r.n) > 1).map((r) => r.message_id);
    if (twice.length > 0) problems.push(`ids stored more than once: ${twice.slice(0, 5).join(", ")}`);
    const verdict = h.check(GROUPS, { allowedDuplicates: 0, storedIds: new Set(stored.map((r) => r.message_id)) });
    const { dupRounds, probes, lockWaitTimeouts } = inProcess.stats;
    h.log(
      `deadlocks ${deadlocks} (server-wide; lockers were the victim ${lockers.partition.victim + lockers.delivery.victim} times in ${lockers.partition.rounds + lockers.delivery.rounds} rounds), lock-wait timeouts ${lockWaitTimeouts} in ${probes} probes, same-id rounds ${dupRounds}, lock errors surfaced past the library's retries ${surfaced}`,
    );
    return h.result(verdict, { faults: deadlocks + lockWaitTimeouts, problems });
  },
});
