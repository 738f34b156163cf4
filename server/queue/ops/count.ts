import type { Executor } from "@/server/queue/db";

/** A count that stops at a cap: the console shows "10,000+" instead of scanning a big table. */
export interface Count {
  value: number;
  capped: boolean;
}

export const COUNT_CAP = 10_000;

/** Counts the rows of `selectOne` (a `SELECT 1 FROM … WHERE …`), reading at most cap + 1 of them. */
export async function boundedCount(c: Executor, selectOne: string, params: unknown[], cap = COUNT_CAP): Promise<Count> {
  const [row] = await c.query<{ n: number }>(`SELECT COUNT(*) AS n FROM (${selectOne} LIMIT ${cap + 1}) x`, params);
  const n = Number(row?.n ?? 0);
  return n > cap ? { value: cap, capped: true } : { value: n, capped: false };
}
