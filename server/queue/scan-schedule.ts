// When a subscriber's scan for ready partitions reads the whole topic and
// when only what changed. A full scan costs a read of every partition the
// topic has ever had (1,000 drained ones cost as much as 1,000 busy ones), so
// it runs once per FULL_SCAN_EVERY_POLLS poll intervals (or 5 s); the scans in
// between read only the partitions published to since the scan before, the
// ones never marked idle and the ones whose idle mark has come due
// (leases.ts). Whatever those miss (a lease that ran out, a resumed group) the
// next full scan finds: later, never lost.
import type { ScanResult } from "./leases";

/** Poll intervals between full scans, at most. */
export const FULL_SCAN_EVERY_POLLS = 10;
/** Time between full scans, at most, ms (a long poll interval scans the whole topic every time). */
export const FULL_SCAN_MAX_GAP_MS = 5_000;
/**
 * How far a changes-only scan reaches back before the scan ahead of it, ms:
 * a publish is stamped when its statement runs and seen once it commits, so
 * one that committed just after a scan may carry a time a little before it.
 */
export const PUBLISHED_SINCE_MARGIN_MS = 500;

export class ScanSchedule {
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private since: number | undefined;

  /** @param pollIntervalMs the subscriber's poll interval, ms */
  constructor(private readonly pollIntervalMs: number) {}

  /** The lower bound of a changes-only scan now (database clock, ms), or undefined when a full scan is due. */
  publishedSince(nowMono: number): number | undefined {
    if (this.since === undefined) return undefined;
    const gap = Math.min(FULL_SCAN_EVERY_POLLS * this.pollIntervalMs, FULL_SCAN_MAX_GAP_MS);
    return nowMono - this.lastFullAt >= gap ? undefined : this.since;
  }

  /** Records a scan that ran; `nowMono`: monotonic time it ended. */
  scanned(scan: ScanResult, nowMono: number): void {
    if (scan.leasedCount !== null) this.lastFullAt = nowMono;
    this.since = scan.scannedAt - PUBLISHED_SINCE_MARGIN_MS;
  }
}
