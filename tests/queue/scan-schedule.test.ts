// The full scan's gap grows while full scans keep finding the same picture
// and comes back to FULL_SCAN_EVERY_POLLS poll intervals on any change.
import { describe, expect, it } from "vitest";
import type { ScanResult } from "@/server/queue/leases";
import { FULL_SCAN_EVERY_POLLS, FULL_SCAN_MAX_BACKOFF, ScanSchedule } from "@/server/queue/scan-schedule";

const POLL = 10;
const BASE = FULL_SCAN_EVERY_POLLS * POLL;
const scan = (leasedCount: number | null, live = 1): ScanResult => ({
  partitions: [],
  leasedCount,
  nextDueInMs: null,
  scannedAt: 1_000_000,
  live,
});

/** Monotonic ms from `from` until the schedule asks for a full scan. */
function gapAfter(s: ScanSchedule, from: number): number {
  let t = from;
  while (s.publishedSince(t) !== undefined) t++;
  return t - from;
}

describe("the full scan's schedule", () => {
  it("doubles the gap while nothing changes, up to its cap, and resets on a change", () => {
    const s = new ScanSchedule(POLL);
    let now = 0;
    const full = (leased: number, claimable = 0, live = 1) => {
      s.scanned(scan(leased, live), now, claimable);
      const gap = gapAfter(s, now);
      now += gap;
      return gap;
    };
    expect(full(5)).toBe(BASE);
    expect(full(5)).toBe(2 * BASE);
    expect(full(5)).toBe(4 * BASE);
    expect(full(5)).toBe(FULL_SCAN_MAX_BACKOFF * BASE);
    expect(full(5)).toBe(FULL_SCAN_MAX_BACKOFF * BASE);
    // A lease more: back to the first gap.
    expect(full(6)).toBe(BASE);
    expect(full(6)).toBe(2 * BASE);
    // Partitions to take: no backoff while there are.
    expect(full(6, 2)).toBe(BASE);
    expect(full(6, 2)).toBe(BASE);
  });

  it("resets when a changes-only scan reads another live count or finds something to take", () => {
    const s = new ScanSchedule(POLL);
    s.scanned(scan(3), 0, 0);
    s.scanned(scan(3), BASE, 0);
    expect(gapAfter(s, BASE)).toBe(2 * BASE);
    s.scanned(scan(null, 2), BASE + 1, 0);
    expect(gapAfter(s, BASE)).toBe(BASE);
    s.scanned(scan(3, 2), 2 * BASE, 0);
    s.scanned(scan(3, 2), 3 * BASE, 0);
    expect(gapAfter(s, 3 * BASE)).toBe(2 * BASE);
    s.scanned(scan(null, 2), 3 * BASE + 1, 1);
    expect(gapAfter(s, 3 * BASE)).toBe(BASE);
  });

  it("never waits longer than FULL_SCAN_MAX_GAP_MS", () => {
    const s = new ScanSchedule(1_000);
    s.scanned(scan(1), 0, 0);
    expect(gapAfter(s, 0)).toBe(5_000);
  });
});
