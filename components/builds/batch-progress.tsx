"use client";
// Between "trigger" and the build: the batch is stored and its `build`
// message published; a worker triggers the build and stores it. This page
// waits for that, then moves on to the build's own page.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { formatDuration } from "@/components/format";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";
import { useNow } from "@/components/use-now";
import { ChangeList } from "./change-list";
import { buildHref } from "./filter-params";

/** After this long without a build, say why that may be. */
const SLOW_MS = 15_000;

export function BatchProgress({ batchId }: { batchId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const now = useNow(1_000);
  const query = useQuery(
    trpc.builds.batch.queryOptions(
      { batchId },
      {
        refetchInterval: (q) => (q.state.data?.buildId ? false : 1_000),
        refetchIntervalInBackground: false,
      },
    ),
  );
  const buildId = query.data?.buildId;
  useEffect(() => {
    // replace: the back button should not land on this waiting page again.
    if (buildId) router.replace(buildHref(buildId));
  }, [buildId, router]);

  if (!query.data) return <QueryState query={query} loading="Loading…" failure={`Could not load batch ${batchId}`} />;
  const { batch, slots } = query.data;
  const waited = Math.max(0, now - batch.createdAt);
  const forSlot = !buildId && batch.state === "waiting" && slots !== null;
  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/builds">Builds</Link> / batch <span className="mono">{batch.id}</span>
      </nav>
      <header className="page-header">
        <div className="title-row">
          <h1>
            Batch <span className="mono">{batch.id}</span>
          </h1>
          <span
            className={`badge badge-${batch.state === "waiting" ? "waiting" : "accepted"}`}
            data-testid="batch-state"
          >
            {batch.state === "waiting" ? "waiting for a slot" : batch.state}
          </span>
        </div>
      </header>
      <section className="panel">
        <p data-testid="batch-waiting" aria-live="polite">
          {buildId ? (
            "The build is triggered; opening it…"
          ) : forSlot ? (
            <span data-testid="batch-slot">
              Waiting for a build slot on <span className="mono">{batch.queue}</span>: {slots.inUse} of {slots.cap}{" "}
              {slots.cap === 1 ? "build runs" : "builds run"} at once
              {slots.position !== null ? (
                <>
                  ; this batch is <strong>number {slots.position}</strong> of {slots.waiting} in line
                </>
              ) : null}
              . It starts as soon as one finishes.
            </span>
          ) : (
            <>
              <span className="spinner" aria-hidden="true" /> Waiting for a worker to trigger the build on{" "}
              <span className="mono">{batch.queue}</span>…
            </>
          )}
        </p>
        <p className="muted small">
          Requested <RelativeTime ms={batch.createdAt} /> by {batch.requester}.
        </p>
        {!buildId && !forSlot && waited > SLOW_MS ? (
          <p className="note note-warn">
            Still waiting after {formatDuration(waited)}. Is a worker running? Start one with{" "}
            <code>npm run worker</code>, or set <code>SLUICE_IN_PROCESS_WORKER=true</code> on the web server.
          </p>
        ) : null}
      </section>
      <section className="panel">
        <h2>Changes</h2>
        <h3>Base</h3>
        <ChangeList changes={batch.base} testId="base-changes" />
        <h3>Head</h3>
        <ChangeList changes={batch.head} testId="head-changes" />
      </section>
    </div>
  );
}
