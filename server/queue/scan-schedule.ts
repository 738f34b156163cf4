// When a subscriber's scan for ready partitions reads the whole topic and
// when only what changed. A full scan costs a read of every partition the
// topic has ever had (1,000 drained ones cost as much as 1,000 busy ones), so
// it runs once per FULL_SCAN_EVERY_POLLS poll intervals; the scans in between
// read only the partitions published to since the scan before, the ones never
// marked idle and the ones whose idle mark has come due (leases.ts). Whatever
// those miss (a lease that ran out, a resumed group) the next full scan finds:
// later, never lost. While full scans keep finding the same picture (as many
// leases held, as many live subscribers, nothing to take), the gap between
// them doubles, up to FULL_SCAN_MAX_BACKOFF times the first (and 5 s); any
// change, in a full scan or in the live count any scan reads, brings it back.
// A topic of 1,000 drained partitions, or of 1,000 builds each polled by the
// subscriber that holds it, then costs a full read every few seconds rather
// than every second (bench:pipeline).
import type { ScanResult } from "./leases";

/** Poll intervals between full scans, at most. */
export const FULL_SCAN_EVERY_POLLS = 10;
/** Time between full scans, at most, ms (a long poll interval scans the whole topic every time). */
export const FULL_SCAN_MAX_GAP_MS = 5_000;
/** How many times FULL_SCAN_EVERY_POLLS poll intervals the gap grows to while nothing changes, at most. */
export const FULL_SCAN_MAX_BACKOFF = 8;
/**
 * How far a changes-only scan reaches back before the scan ahead of it, ms:
 * a publish is stamped when its statement runs and seen once it commits, so
 * one that committed just after a scan may carry a time a little before it.
 */
export const PUBLISHED_SINCE_MARGIN_MS = 500;

export class ScanSchedule {
  private lastFullAt = Number.NEGATIVE_INFINITY;
  private since: number | undefined;
  /** The gap's multiple of FULL_SCAN_EVERY_POLLS poll intervals now. */
  private backoff = 1;
  /** What the last full scan found (see `scanned`), and the live count the last scan read. */
  private lastPicture: string | undefined;
  private lastLive: number | undefined;

  /** @param pollIntervalMs the subscriber's poll interval, ms */
  constructor(private readonly pollIntervalMs: number) {}

  /** The lower bound of a changes-only scan now (database clock, ms), or undefined when a full scan is due. */
  publishedSince(nowMono: number): number | undefined {
    if (this.since === undefined) return undefined;
    const gap = Math.min(this.backoff * FULL_SCAN_EVERY_POLLS * this.pollIntervalMs, FULL_SCAN_MAX_GAP_MS);
    return nowMono - this.lastFullAt >= gap ? undefined : this.since;
  }

  /**
   * Records a scan that ran; `nowMono`: monotonic time it ended; `claimable`:
   * how many of the partitions it listed this subscriber could take (held by
   * nobody else, not held by it yet).
   */
  scanned(scan: ScanResult, nowMono: number, claimable: number): void {
    if (scan.live !== this.lastLive) this.backoff = 1;
    this.lastLive = scan.live;
    if (scan.leasedCount !== null) {
      const picture = claimable > 0 ? undefined : `${scan.leasedCount}/${scan.live}`;
      const same = picture !== undefined && picture === this.lastPicture;
      this.backoff = same ? Math.min(this.backoff * 2, FULL_SCAN_MAX_BACKOFF) : 1;
      this.lastPicture = picture;
      this.lastFullAt = nowMono;
    } else if (claimable > 0) {
      this.backoff = 1;
    }
    this.since = scan.scannedAt - PUBLISHED_SINCE_MARGIN_MS;
  }
}
