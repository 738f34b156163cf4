// The statements behind the console calls the benchmark found slow, as the
// library sends them (the DLQ's through the library's own planner), with, for
// the message walks, a variant that pins the (topic, log_id) index, so the
// report can show both plans and both timings.
import type mysql from "mysql2/promise";
import { type DlqFilter, dlqListSql } from "@/server/queue/ops/dlq";
import { messageId, SEED } from "./console-seed";

export interface Statement {
  sql: string;
  params: unknown[];
  /** The same statement with an index hint, to compare. */
  pinned?: { sql: string; params: unknown[] };
}

const dlq = SEED.dlqTopic;

const reader = (pool: mysql.Pool) => ({
  query: async <T>(sql: string, params?: unknown[]) => (await pool.query(sql, params))[0] as T[],
});

/** A DLQ list as the library plans it: a union of index-driven branches. */
async function dlqList(pool: mysql.Pool, filter: DlqFilter): Promise<Statement> {
  return dlqListSql(reader(pool), filter, 51);
}

/** A DLQ count: the same branches, counted. */
async function dlqCount(pool: mysql.Pool, filter: DlqFilter): Promise<Statement> {
  const list = await dlqListSql(reader(pool), filter, 1_000_000_000);
  return { sql: `SELECT COUNT(*) AS n FROM (${list.sql}) matched`, params: list.params };
}

/** The newest-first walk of listMessages (its inner SELECT, where the plan is chosen). */
function messagesWalk(topic: string): Statement {
  const body = (hint: string) =>
    `SELECT m.log_id, m.topic, m.partition_key, m.seq, m.message_id, m.published_at, m.visible_after, m.target_group
     FROM queue_messages m ${hint} WHERE m.topic = ? ORDER BY m.log_id DESC LIMIT 51`;
  return {
    sql: body(""),
    params: [topic],
    pinned: { sql: body("FORCE INDEX (queue_messages_topic_log)"), params: [topic] },
  };
}

/** Keyed by the benchmark's call label. */
export async function statementFor(pool: mysql.Pool, call: string): Promise<Statement | undefined> {
  if (call.startsWith(`listMessages("${SEED.quietTopic}"`)) return messagesWalk(SEED.quietTopic);
  if (call.startsWith('listMessages("payments", no group, all')) return messagesWalk("payments");
  if (call === "listDlq(search an id: one match)")
    return dlqList(pool, { topic: dlq, search: messageId("orders", 0, 8) });
  if (call.startsWith('listDlq(search "no such error"')) return dlqList(pool, { topic: dlq, search: "no such error" });
  if (call.startsWith('listDlq(search "timeout"')) return dlqList(pool, { topic: dlq, search: "timeout" });
  if (call === "countDlq(no filter)") return dlqCount(pool, { topic: dlq });
  if (call.startsWith('countDlq(search "timeout")')) return dlqCount(pool, { topic: dlq, search: "timeout" });
  if (call.startsWith("countDlq(originalGroup")) return dlqCount(pool, { topic: dlq, originalGroup: "shipping" });
  if (call.startsWith("countDlq(failureGroup"))
    return dlqCount(pool, { topic: dlq, failureGroup: "order <n> not found" });
  return undefined;
}

async function bestOf(pool: mysql.Pool, sql: string, params: unknown[], n = 5): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await pool.query(sql, params);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

function planLines(rows: Array<Record<string, unknown>>): string[] {
  return rows.map((r) => {
    const measured = r.r_rows === undefined ? "" : ` r_rows ${r.r_rows} r_filtered ${r.r_filtered}`;
    return `    ${r.table}: type ${r.type}, key ${r.key}, rows ${r.rows}${measured}, ${r.Extra ?? ""}`;
  });
}

/** EXPLAIN, ANALYZE (MariaDB: runs it and counts rows) and the best time of the statement and its pinned variant. */
export async function explainStatement(pool: mysql.Pool, s: Statement): Promise<string[]> {
  const flat = (sql: string) => sql.replace(/\s+/g, " ").trim();
  const out = [`  SQL: ${flat(s.sql)}`, `  params: ${JSON.stringify(s.params)}`];
  const [analyzed] = await pool.query(`ANALYZE ${s.sql}`, s.params);
  out.push("  plan (ANALYZE):", ...planLines(analyzed as Array<Record<string, unknown>>));
  out.push(`  best of 5: ${(await bestOf(pool, s.sql, s.params)).toFixed(1)} ms`);
  if (s.pinned) {
    const [pinned] = await pool.query(`ANALYZE ${s.pinned.sql}`, s.pinned.params);
    out.push("  with FORCE INDEX (queue_messages_topic_log):", ...planLines(pinned as Array<Record<string, unknown>>));
    out.push(`  best of 5: ${(await bestOf(pool, s.pinned.sql, s.pinned.params)).toFixed(1)} ms`);
  }
  return out;
}
