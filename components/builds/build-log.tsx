"use client";
// A build's output. A command build's whole log, a page at a time, following
// the last page live while the build runs (until the operator pages back);
// a CI build links to where its runner keeps the log.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import { logLinks } from "./log-links";

/** How often a followed log is read while its build runs, ms. */
export const LOG_LIVE_MS = 1_000;

export function BuildLogs({
  id,
  runner,
  live,
  metadata,
}: {
  id: string;
  runner: string;
  live: boolean;
  metadata: Record<string, string>;
}) {
  if (runner === "command") return <CommandLog id={id} live={live} tail={metadata.outputTail} />;
  if (runner === "noop") return <p className="muted small">A noop build runs nothing and has no output.</p>;
  const links = logLinks(metadata);
  if (links.length === 0)
    return <p className="muted small">The runner has not named a page for this build's log yet.</p>;
  return (
    <ul data-testid="log-links">
      {links.map((l) => (
        <li key={l.href}>
          <a href={l.href} target="_blank" rel="noopener noreferrer">
            {l.label}
          </a>
        </li>
      ))}
    </ul>
  );
}

/** 812 B · 63.9 KiB · 1.4 MiB */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

function CommandLog({ id, live, tail }: { id: string; live: boolean; tail: string | undefined }) {
  const trpc = useTRPC();
  // A running build opens on its last page, following it; a finished one on its last page, still.
  const [follow, setFollow] = useState(live);
  const [page, setPage] = useState<number | "last">("last");
  const query = useQuery(
    trpc.builds.log.queryOptions(
      { id, page: follow ? "last" : page },
      {
        refetchInterval: live && follow ? LOG_LIVE_MS : false,
        refetchIntervalInBackground: false,
        placeholderData: keepPreviousData,
      },
    ),
  );
  const { refetch } = query;
  // The read before the build ended may have missed its last lines: read once more when it ends.
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void refetch();
    wasLive.current = live;
  }, [live, refetch]);
  const pre = useRef<HTMLPreElement>(null);
  const text = query.data?.available ? query.data.text : undefined;
  useEffect(() => {
    if (follow && text !== undefined && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [follow, text]);

  const data = query.data;
  if (!data) return <QueryState query={query} loading="Loading…" failure="Could not read the output" />;
  if (!data.available) {
    return (
      <>
        <p className="muted small" data-testid="log-unavailable">
          The whole output cannot be shown here: {data.reason}.
        </p>
        {tail !== undefined ? (
          <>
            <h3>Output (tail)</h3>
            <pre className="output" data-testid="output-tail">
              {tail}
            </pre>
          </>
        ) : null}
      </>
    );
  }
  const go = (to: number | "last") => {
    setFollow(false);
    setPage(to);
  };
  const last = data.page === data.pages - 1;
  return (
    <>
      <nav className="log-pager" aria-label="Output pages">
        <button type="button" className="btn" onClick={() => go(0)} disabled={data.page === 0}>
          First
        </button>
        <button type="button" className="btn" onClick={() => go(data.page - 1)} disabled={data.page === 0}>
          Previous
        </button>
        <span data-testid="log-page">
          Page {data.page + 1} of {data.pages}
        </span>
        <button type="button" className="btn" onClick={() => go(data.page + 1)} disabled={last}>
          Next
        </button>
        <button type="button" className="btn" onClick={() => go("last")} disabled={last && !live}>
          Last
        </button>
        {live ? (
          <button
            type="button"
            className={follow ? "btn btn-primary" : "btn"}
            aria-pressed={follow}
            onClick={() => setFollow(!follow)}
          >
            {follow ? "Following live" : "Follow live"}
          </button>
        ) : null}
        <span className="muted small" data-testid="log-range">
          bytes {data.start}–{data.end} of {formatBytes(data.size)}
          {data.running ? " so far" : ""}
        </span>
      </nav>
      <pre className="output output-log" ref={pre} data-testid="build-log" aria-live={follow ? "polite" : "off"}>
        {data.text}
      </pre>
    </>
  );
}
