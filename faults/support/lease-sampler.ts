// Watches the lease columns of queue_group_partitions while a scenario runs:
// how long a partition with work ready for a group went without a valid
// lease. "Ready" is the subscribers' own rule (readyNow and outWithOwner in
// server/queue/partition-state.ts): a row above the watermark, visible, not
// finished, not out with anyone, and not waiting behind an earlier row that
// is still out with a subscriber (a killed consumer's row until its
// visibility timeout): no subscriber could fetch a row that waits.
import type { Harness } from "@/faults/harness/harness";
import { pause } from "@/faults/wait";
import { leaseFree, leaseHeld, outWithOwner, readyNow } from "@/server/queue/partition-state";

export interface OrphanWindow {
  group: string;
  partitionKey: string;
  /** Date.now() of the first and last sample that saw it ready and unowned. */
  from: number;
  to: number;
  /** Still open when sampling stopped. */
  open: boolean;
}

const READY_UNOWNED = `
  SELECT p.partition_key
  FROM queue_partitions p
  LEFT JOIN queue_group_partitions g
    ON g.consumer_group = ? AND g.topic = p.topic AND g.partition_key = p.partition_key
  WHERE p.topic = ? AND p.head_seq > COALESCE(g.watermark, 0)
    AND ${leaseFree("g")}
    AND EXISTS (
      SELECT 1 FROM queue_messages m
      LEFT JOIN queue_deliveries d
        ON d.consumer_group = ? AND d.topic = m.topic AND d.partition_key = m.partition_key AND d.seq = m.seq
      WHERE m.topic = p.topic AND m.partition_key = p.partition_key AND m.seq > COALESCE(g.watermark, 0)
        AND ${readyNow("?")}
        AND NOT EXISTS (
          SELECT 1 FROM queue_deliveries x
          WHERE x.consumer_group = ? AND x.topic = m.topic AND x.partition_key = m.partition_key
            AND x.seq > COALESCE(g.watermark, 0) AND x.seq < m.seq AND ${outWithOwner("x")}))`;

const OWNERS = `
  SELECT consumer_group, COUNT(DISTINCT lease_owner) AS owners, COUNT(*) AS leased
  FROM queue_group_partitions
  WHERE topic = ? AND ${leaseHeld("queue_group_partitions")}
  GROUP BY consumer_group`;

export class LeaseSampler {
  readonly windows: OrphanWindow[] = [];
  samples = 0;
  private readonly open = new Map<string, OrphanWindow>();
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly h: Harness,
    private readonly topic: string,
    private readonly groups: string[],
    private readonly everyMs = 150,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    for (const w of this.open.values()) this.windows.push({ ...w, open: true });
    this.open.clear();
  }

  private async run(): Promise<void> {
    let lastReport = 0;
    while (!this.stopped) {
      await this.sample();
      if (Date.now() - lastReport > 3000) {
        lastReport = Date.now();
        const rows = await this.h.sql<{ consumer_group: string; owners: number; leased: number }>(OWNERS, [this.topic]);
        this.h.log(
          `leases: ${rows.map((r) => `${r.consumer_group} ${r.leased} partitions over ${r.owners} owners`).join("; ") || "none held"}, ${this.open.size} ready partitions unowned`,
        );
      }
      await pause(this.everyMs);
    }
  }

  private async sample(): Promise<void> {
    const now = Date.now();
    const seen = new Set<string>();
    for (const group of this.groups) {
      const rows = await this.h.sql<{ partition_key: string }>(READY_UNOWNED, [group, this.topic, group, group, group]);
      for (const r of rows) {
        const key = `${group}\u0000${r.partition_key}`;
        seen.add(key);
        const w = this.open.get(key);
        if (w) w.to = now;
        else this.open.set(key, { group, partitionKey: r.partition_key, from: now, to: now, open: false });
      }
    }
    for (const [key, w] of this.open) {
      if (seen.has(key)) continue;
      this.open.delete(key);
      // It was owned (or had nothing ready) by this sample: the window ends here.
      this.windows.push({ ...w, to: now });
    }
    this.samples++;
  }

  /** Windows longer than `limitMs`, counted from `since` for windows that began before it. */
  longerThan(limitMs: number, since = 0): OrphanWindow[] {
    return this.windows.filter((w) => w.to - Math.max(w.from, since) > limitMs);
  }

  longest(since = 0, group?: string): number {
    return this.windows
      .filter((w) => group === undefined || w.group === group)
      .reduce((m, w) => (w.to < since ? m : Math.max(m, w.to - Math.max(w.from, since))), 0);
  }
}
