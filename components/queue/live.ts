// How often the queue pages ask again, and that they stop while the tab is
// hidden (TanStack resumes them when it is shown).
export const LIVE_MS = 2_000;
/** Counts that cost a scan (a DLQ filter's exact count) are asked for less often. */
export const SLOW_LIVE_MS = 5_000;

export const live = { refetchInterval: LIVE_MS, refetchIntervalInBackground: false } as const;
export const slowLive = { refetchInterval: SLOW_LIVE_MS, refetchIntervalInBackground: false } as const;
/**
 * A DLQ filter's exact count reads every row the filter matches (and can
 * take most of a second on a big DLQ; see bench/console.ts): asked for
 * rarely, and afresh whenever an action or a new filter changes it.
 */
export const countLive = { refetchInterval: 10_000, refetchIntervalInBackground: false } as const;

export const PAGE_SIZE = 50;
