// What the database is doing for the bench: a sampling profiler over
// PROCESSLIST, and the deadlocks InnoDB reports.
import type mysql from "mysql2/promise";
import { query, repeatEvery, sleep } from "./lib";
import { state } from "./pipeline-state";

/** A short name for a statement: known queue statements by name, others by verb and table. */
function statementKind(info: string): string {
  const sql = info.replace(/\s+/g, " ").trim();
  const known: Array<[RegExp, string]> = [
    [/^\(SELECT 'n' AS kind/i, "queue: scanReadyPartitions"],
    [/^SELECT @sluice_head AS head, \(@sluice_idle/i, "queue: settleProbe"],
    [/^UPDATE queue_group_partitions SET idle_until = @sluice_idle/i, "queue: settleProbe (idle marks)"],
    [/^SELECT @sluice_head AS head, x\.idle_until/i, "queue: idleProbe"],
    [/^SET @sluice_watermark/i, "queue: advanceWatermark (find blocker)"],
    [/^SET @sluice_head/i, "queue: advanceWatermark (read head)"],
    [/^SELECT MIN\(x\.seq\) AS seq FROM queue_group_partitions g/i, "queue: fetch (foreign in-flight)"],
    [/^SELECT m\.log_id, m\.seq, m\.message_id/i, "queue: fetch (ready rows)"],
    [/^SELECT gp\.watermark, gp\.lease_owner/i, "queue: lockGroupPartition (FOR UPDATE)"],
    [/^SELECT gp\.consumer_group, gp\.topic, gp\.partition_key, gp\.watermark/i, "queue: settle (lock partitions)"],
    [/^SELECT f\.topic, f\.partition_key, f\.floor/i, "queue: collectGarbage (floors)"],
    [/^DELETE FROM queue_messages WHERE topic = /i, "queue: collectGarbage (delete rows)"],
    [/^SELECT log_id, partition_key, seq, metadata, published_at FROM queue_messages/i, "bench: poll row capture"],
  ];
  for (const [re, name] of known) if (re.test(sql)) return name;
  const plain = sql.replace(/`/g, "");
  const verb = (plain.split(" ")[0] ?? "").toLowerCase();
  const table = (re: RegExp) => re.exec(plain)?.[1] ?? "?";
  if (verb === "select") {
    const forUpdate = /for update$/i.test(plain) ? " … for update" : "";
    const where = /\bwhere ([a-z_.]+)/i.exec(plain)?.[1];
    return `select from ${table(/\bfrom ([a-z_]+)/i)}${where ? ` where ${where}` : ""}${forUpdate}`;
  }
  if (verb === "insert") return `insert into ${table(/^insert into ([a-z_]+)/i)}`;
  if (verb === "update") return `update ${table(/^update ([a-z_]+)/i)} set ${table(/\bset ([a-z_]+)/i)}`;
  if (verb === "delete") return `delete from ${table(/^delete from ([a-z_]+)/i)}`;
  return plain.length > 40 ? `${plain.slice(0, 37)}...` : plain;
}

/**
 * Samples the statements running in the bench database (PROCESSLIST), a
 * sampling profiler for the server: a statement is seen in proportion to how
 * long it runs (lock waits and waiting for a CPU included).
 */
export class StatementSampler {
  readonly kinds = new Map<string, number>();
  samples = 0;
  idleSamples = 0;
  private stopped = false;
  private loop?: Promise<void>;
  failure?: unknown;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly dbName: string,
    private readonly everyMs: number,
  ) {}

  start() {
    this.loop = repeatEvery(
      this.everyMs,
      () => !this.stopped && !state.captureStop,
      () => this.sample(),
    ).catch((err: unknown) => {
      this.failure = err;
    });
  }

  private async sample() {
    const rows = await query<{ info: string | null }>(
      this.pool,
      `SELECT INFO AS info FROM information_schema.PROCESSLIST
       WHERE DB = ? AND COMMAND = 'Query' AND ID <> CONNECTION_ID() AND INFO IS NOT NULL`,
      [this.dbName],
    );
    this.samples++;
    if (rows.length === 0) this.idleSamples++;
    for (const r of rows) {
      const kind = statementKind(r.info ?? "");
      this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    }
  }

  async stop() {
    this.stopped = true;
    await this.loop;
  }
}

/**
 * Records the deadlocks InnoDB reports in the bench database. The server
 * keeps only its latest deadlock, so one read a second sees some of them,
 * not all: the kinds, not the count.
 */
export class DeadlockWatcher {
  readonly pairs = new Map<string, number>();
  private readonly seen = new Set<string>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly dbName: string,
  ) {}

  async check() {
    const [row] = await query<{ Status: string }>(this.pool, "SHOW ENGINE INNODB STATUS");
    const text = row?.Status ?? "";
    const from = text.indexOf("LATEST DETECTED DEADLOCK");
    if (from < 0) return;
    const section = text.slice(from, text.indexOf("\nTRANSACTIONS\n", from));
    const lines = section.split("\n");
    const stamp = lines.find((l) => /^\d{4}-\d\d-\d\d /.test(l));
    if (!stamp || this.seen.has(stamp) || !section.includes(`\`${this.dbName}\``)) return;
    this.seen.add(stamp);
    // Each transaction's statement starts on its own line and runs (over several lines) up to the next "***".
    const statements: string[] = [];
    let phase: "before" | "waiting" | "reading" = "before";
    let current: string[] = [];
    for (const l of lines) {
      if (/^\*\*\* \(\d\) TRANSACTION:/.test(l)) phase = "waiting";
      else if (phase === "waiting" && /^(insert|select|update|delete|replace)\b/i.test(l)) {
        phase = "reading";
        current = [l];
      } else if (phase === "reading" && l.startsWith("***")) {
        statements.push(statementKind(current.join(" ")));
        phase = "before";
      } else if (phase === "reading") current.push(l);
    }
    const pair = statements.join("  ×  ") || "(statements not shown)";
    this.pairs.set(pair, (this.pairs.get(pair) ?? 0) + 1);
  }

  start() {
    this.loop = (async () => {
      while (!this.stopped && !state.captureStop) {
        // Diagnostics only: a failed read is skipped.
        await this.check().catch(() => undefined);
        await sleep(1_000);
      }
    })();
  }

  async stop() {
    this.stopped = true;
    await this.loop;
  }
}
