"use client";
// Whether what the console shows is live, and an operator's pause of it.
//
// Every page's polling goes through TanStack Query with
// refetchIntervalInBackground off, so it already stops while the tab is
// hidden; pausing reuses that switch (focusManager), which stops every
// interval refresh at once without touching each query. The indicator reads
// the query cache: a refresh that failed (a 5xx or no answer, not a 4xx,
// which is an answer) or a browser that is offline turns it, and the banner
// marks the data on screen as stale from the time it was last fetched.
import { focusManager, type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useCallback, useSyncExternalStore } from "react";
import { isClientError } from "@/server/trpc/query-client";
import { formatClock, formatRelative } from "./format";
import { useNow } from "./use-now";

export type LiveMode = "live" | "paused" | "offline" | "failing";

export interface LiveState {
  mode: LiveMode;
  /** When the data on screen was last fetched (offline, failing) or when refresh was paused. */
  since: number | null;
  /** What the failing refresh said. */
  error: string | null;
}

const LIVE: LiveState = { mode: "live", since: null, error: null };
let lastSnapshot: LiveState = LIVE;

let paused = false;
let pausedAt: number | null = null;
const pauseListeners = new Set<() => void>();

function tabVisible(): boolean {
  return document.visibilityState !== "hidden";
}

let focusHooked = false;

/** TanStack polls only while "focused": paused counts as not focused, whatever the tab's visibility. */
function hookFocus() {
  if (focusHooked) return;
  focusHooked = true;
  focusManager.setEventListener((setFocused) => {
    const onVisibility = () => setFocused(!paused && tabVisible());
    window.addEventListener("visibilitychange", onVisibility, false);
    return () => window.removeEventListener("visibilitychange", onVisibility);
  });
}

export function setLivePaused(next: boolean) {
  hookFocus();
  paused = next;
  pausedAt = next ? Date.now() : null;
  // Resuming counts as regaining focus: stale queries refetch at once, intervals carry on.
  focusManager.setFocused(!paused && tabVisible());
  for (const l of pauseListeners) l();
}

function activeQueries(qc: QueryClient) {
  return qc
    .getQueryCache()
    .getAll()
    .filter((q) => q.getObserversCount() > 0);
}

function oldestData(times: number[]): number | null {
  const known = times.filter((t) => t > 0);
  return known.length > 0 ? Math.min(...known) : null;
}

function readLive(qc: QueryClient): LiveState {
  const active = activeQueries(qc);
  if (!navigator.onLine) {
    return { mode: "offline", since: oldestData(active.map((q) => q.state.dataUpdatedAt)), error: null };
  }
  const failing = active.filter((q) => {
    // A failed attempt being retried counts already: waiting for the retries to run out would hide it for seconds.
    const error = q.state.status === "error" ? q.state.error : q.state.fetchFailureReason;
    return error !== null && !isClientError(error);
  });
  const first = failing[0];
  if (first) {
    const error = first.state.error ?? first.state.fetchFailureReason;
    return {
      mode: "failing",
      since: oldestData(failing.map((q) => q.state.dataUpdatedAt)),
      error: describeFailure(error),
    };
  }
  if (paused) return { mode: "paused", since: pausedAt, error: null };
  return LIVE;
}

/**
 * The server's own sentence when it answered as tRPC does; otherwise (no
 * answer, or a proxy's error page) the parser's complaint would mean nothing
 * to an operator.
 */
function describeFailure(error: unknown): string {
  const answered = (error as { data?: unknown } | null)?.data !== undefined;
  return answered && error instanceof Error ? error.message : "the web server did not answer";
}

function same(a: LiveState, b: LiveState): boolean {
  return a.mode === b.mode && a.since === b.since && a.error === b.error;
}

/** The console's liveness, re-read whenever a query, the network or the pause changes. */
export function useLive(): LiveState {
  const qc = useQueryClient();
  const subscribe = useCallback(
    (onChange: () => void) => {
      hookFocus();
      const unsubscribe = qc.getQueryCache().subscribe(onChange);
      window.addEventListener("online", onChange);
      window.addEventListener("offline", onChange);
      pauseListeners.add(onChange);
      return () => {
        unsubscribe();
        window.removeEventListener("online", onChange);
        window.removeEventListener("offline", onChange);
        pauseListeners.delete(onChange);
      };
    },
    [qc],
  );
  // useSyncExternalStore wants the same object while nothing changed.
  const snapshot = useCallback(() => {
    const next = readLive(qc);
    if (!same(next, lastSnapshot)) lastSnapshot = next;
    return lastSnapshot;
  }, [qc]);
  return useSyncExternalStore(subscribe, snapshot, () => LIVE);
}

const LABELS: Record<LiveMode, string> = {
  live: "Live",
  paused: "Paused",
  offline: "Offline",
  failing: "Refresh failing",
};

/** The nav's indicator, with the control that pauses and resumes every page's refresh. */
export function LiveIndicator() {
  const live = useLive();
  return (
    <div className="live" data-live={live.mode} data-testid="live-indicator">
      <span className="live-dot" aria-hidden="true" />
      {/* aria-live, not role=status: the nav's one status is the database's. */}
      <span aria-live="polite" data-testid="live-label">
        {LABELS[live.mode]}
      </span>
      <PauseButton />
    </div>
  );
}

function PauseButton() {
  const { mode } = useLive();
  const isPaused = useSyncExternalStore(
    (l) => {
      pauseListeners.add(l);
      return () => pauseListeners.delete(l);
    },
    () => paused,
    () => false,
  );
  return (
    <button
      type="button"
      className="btn btn-link btn-sm"
      aria-pressed={isPaused}
      onClick={() => setLivePaused(!isPaused)}
      // Offline, nothing refreshes either way: the control would promise what it cannot do.
      disabled={mode === "offline"}
    >
      {isPaused ? "Resume live refresh" : "Pause live refresh"}
    </button>
  );
}

/** Above the page: why the data may be out of date, and since when. Marks the page stale (app/globals.css). */
export function LiveBanner() {
  const live = useLive();
  const now = useNow(1_000);
  if (live.mode === "live") return null;
  const when = live.since === null ? "" : ` from ${formatClock(live.since)} (${formatRelative(live.since, now)})`;
  if (live.mode === "paused") {
    return (
      <div className="note live-banner" data-testid="live-banner" data-stale="false">
        <p>
          Live refresh is paused{live.since === null ? "" : ` since ${formatClock(live.since)}`}: what you see does not
          change.
        </p>
        <button type="button" className="btn btn-sm" onClick={() => setLivePaused(false)}>
          Resume
        </button>
      </div>
    );
  }
  return (
    <div className="note note-warn live-banner" role="alert" data-testid="live-banner" data-stale="true">
      <p>
        {live.mode === "offline"
          ? `You are offline. What you see is${when} and may be out of date; it refreshes once you are back online.`
          : `Refreshing failed${live.error ? ` (${live.error})` : ""}. What you see is${when} and may be out of date; retrying.`}
      </p>
    </div>
  );
}

/** "live, every 2 s" on a page, unless it is not. */
export function LiveNote({ everyMs }: { everyMs: number }) {
  const { mode } = useLive();
  if (mode === "paused") return <>live refresh paused</>;
  if (mode === "offline") return <>offline, not refreshing</>;
  if (mode === "failing") return <>refresh failing</>;
  return <>live, every {everyMs / 1000} s</>;
}
