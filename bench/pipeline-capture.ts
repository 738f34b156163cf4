// The poll rows (buildsignal messages) of the window, captured before the
// workers' garbage collection can delete them, and the intervals between them.
import type mysql from "mysql2/promise";
import { POLL_GENERATION, TOPICS } from "@/server/pipeline/topics";
import { query, repeatEvery } from "./lib";
import { state } from "./pipeline-state";

interface PollRow {
  seq: number;
  /** The poll generation (metadata); undefined on a push. */
  gen: number | undefined;
  publishedAt: number;
}

/**
 * Copies every buildsignal row into memory as it is published, so the
 * workers' garbage collection (which deletes consumed rows) cannot lose any.
 * Each scan starts after the highest log_id seen two scans ago: a row whose
 * transaction committed after a higher log_id had been read is picked up by
 * the next scan, and duplicates are dropped by (build, seq).
 */
export class PollCapture {
  readonly byBuild = new Map<string, Map<number, PollRow>>();
  scans = 0;
  private from = 0;
  private lastMax = 0;
  private loop?: Promise<void>;
  failure?: unknown;

  constructor(
    private readonly pool: mysql.Pool,
    private readonly everyMs: number,
  ) {}

  async scan() {
    const rows = await query<{
      log_id: number;
      partition_key: string;
      seq: number;
      metadata: string | null;
      published_at: number;
    }>(
      this.pool,
      `SELECT log_id, partition_key, seq, metadata, published_at FROM queue_messages
       WHERE topic = ? AND log_id > ? ORDER BY log_id`,
      [TOPICS.buildsignal, this.from],
    );
    let max = this.lastMax;
    for (const r of rows) {
      max = Math.max(max, Number(r.log_id));
      let rowsOfBuild = this.byBuild.get(r.partition_key);
      if (!rowsOfBuild) {
        rowsOfBuild = new Map();
        this.byBuild.set(r.partition_key, rowsOfBuild);
      }
      const genText = r.metadata ? (JSON.parse(r.metadata) as Record<string, string>)[POLL_GENERATION] : undefined;
      rowsOfBuild.set(Number(r.seq), {
        seq: Number(r.seq),
        gen: genText === undefined ? undefined : Number(genText),
        publishedAt: Number(r.published_at),
      });
    }
    this.from = this.lastMax;
    this.lastMax = max;
    this.scans++;
  }

  start() {
    this.loop = repeatEvery(
      this.everyMs,
      () => !state.captureStop,
      () => this.scan(),
    ).catch((err: unknown) => {
      this.failure = err;
    });
  }

  async stop() {
    state.captureStop = true;
    await this.loop;
    if (this.failure) throw this.failure;
  }
}

export interface IntervalResult {
  intervals: number[];
  /** Rows published in the window. */
  published: number;
  /** Consecutive captured rows whose generations are not consecutive: a row the capture missed. */
  gaps: number;
  /** Builds with fewer than two polls in the window. */
  buildsWithoutInterval: number;
}

export function intervalsInWindow(
  capture: PollCapture,
  builds: string[],
  fromMs: number,
  toMs: number,
): IntervalResult {
  const result: IntervalResult = { intervals: [], published: 0, gaps: 0, buildsWithoutInterval: 0 };
  for (const id of builds) {
    const rows = [...(capture.byBuild.get(id)?.values() ?? [])]
      .filter((r) => r.publishedAt >= fromMs && r.publishedAt <= toMs)
      .sort((a, b) => a.seq - b.seq);
    result.published += rows.length;
    if (rows.length < 2) result.buildsWithoutInterval++;
    for (let i = 1; i < rows.length; i++) {
      const a = rows[i - 1] as PollRow;
      const b = rows[i] as PollRow;
      if (a.gen !== undefined && b.gen !== undefined && b.gen !== a.gen + 1) {
        result.gaps++;
        continue;
      }
      result.intervals.push(b.publishedAt - a.publishedAt);
    }
  }
  return result;
}
