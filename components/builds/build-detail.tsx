"use client";
// One build: its status (live until it finishes), what it verifies, what the
// runner said, and how it got here.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { BuildStatusBadge } from "@/components/build-status-badge";
import { formatDuration } from "@/components/format";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { WAITING_FOR } from "@/server/buildrunner/types";
import { BuildLogs } from "./build-log";
import { CancelBuild } from "./cancel-build";
import { ChangeList } from "./change-list";
import { BUILDS_LIVE_MS, buildsHref } from "./filter-params";
import { MetadataTable } from "./metadata-table";
import type { BuildDetail } from "./types";

/** Runner metadata shown on their own, not in the key/value table. */
const PROMINENT = ["exitCode", "reason", "outputTail"];

export function BuildDetailView({ id }: { id: string }) {
  const trpc = useTRPC();
  const query = useQuery(
    trpc.builds.get.queryOptions(
      { id },
      {
        // Live until the build is finished; a finished build never changes again.
        refetchInterval: (q) => (q.state.data?.build.terminal ? false : BUILDS_LIVE_MS / 2),
        refetchIntervalInBackground: false,
      },
    ),
  );

  if (!query.data) return <QueryState query={query} loading="Loading…" failure={`Could not load build ${id}`} />;
  return (
    <BuildDetailBody
      detail={query.data}
      stale={query.isError ? query.error.message : undefined}
      refreshing={query.isRefetching}
    />
  );
}

function BuildDetailBody({ detail, stale, refreshing }: { detail: BuildDetail; stale?: string; refreshing: boolean }) {
  const { build, batch, history } = detail;
  const meta = build.metadata;
  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/builds">Builds</Link> / <span className="mono">{build.id}</span>
      </nav>
      <header className="page-header">
        <div className="title-row">
          <h1>
            Build <span className="mono">{build.id}</span>
          </h1>
          <BuildStatusBadge status={build.status} waitingFor={build.metadata[WAITING_FOR]} live />
          {!build.terminal ? <span className="muted small">live{refreshing ? " · refreshing" : ""}</span> : null}
        </div>
        {!build.terminal ? <CancelBuild key={build.id} id={build.id} /> : null}
      </header>
      {stale ? (
        <p className="note note-warn" role="alert">
          Live updates failed ({stale}); retrying.
        </p>
      ) : null}

      <section className="panel" aria-labelledby="summary">
        <h2 id="summary" className="visually-hidden">
          Summary
        </h2>
        <dl className="facts">
          <div>
            <dt>Queue</dt>
            <dd>
              <Link href={buildsHref({ queue: build.queue })} className="mono">
                {build.queue}
              </Link>
            </dd>
          </div>
          <div>
            <dt>Runner</dt>
            <dd>{build.runner}</dd>
          </div>
          <div>
            <dt>Requested by</dt>
            <dd>{batch?.requester ?? "—"}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>
              <RelativeTime ms={build.createdAt} />
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>{build.finishedAt === null ? "—" : <RelativeTime ms={build.finishedAt} />}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="build-duration">
              {formatDuration(build.duration)}
              {build.terminal ? "" : " so far"}
            </dd>
          </div>
          <div>
            <dt>Batch</dt>
            <dd className="mono" title={batch ? `state: ${batch.state}` : undefined}>
              {build.batchId}
            </dd>
          </div>
          <div>
            <dt>Verdict</dt>
            <dd>{batch?.verdict ?? "—"}</dd>
          </div>
          {meta.exitCode !== undefined ? (
            <div>
              <dt>Exit code</dt>
              <dd className={`mono ${meta.exitCode === "0" ? "" : "text-bad"}`} data-testid="exit-code">
                {meta.exitCode}
              </dd>
            </div>
          ) : null}
          {meta.reason ? (
            <div className="wide">
              <dt>Reason</dt>
              <dd data-testid="build-reason">{meta.reason}</dd>
            </div>
          ) : null}
        </dl>
      </section>

      <div className="columns">
        <section className="panel" aria-labelledby="changes">
          <h2 id="changes">Changes</h2>
          <h3>
            Base <span className="muted small">assumed good</span>
          </h3>
          <ChangeList changes={batch?.base ?? []} testId="base-changes" />
          <h3>
            Head <span className="muted small">verified by this build</span>
          </h3>
          <ChangeList changes={batch?.head ?? []} testId="head-changes" />
        </section>

        <section className="panel" aria-labelledby="history">
          <h2 id="history">Status history</h2>
          <table className="table" data-testid="status-history">
            <TableHead columns={["Status", "At", num("After")]} />
            <tbody>
              {history.map((h) => (
                <tr key={h.id}>
                  <td>
                    <span className={`badge badge-${h.status}`}>{h.status}</span>
                  </td>
                  <td>
                    <RelativeTime ms={h.at} />
                  </td>
                  <td className="num">{formatDuration(h.at - build.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <section className="panel" aria-labelledby="runner-metadata">
        <h2 id="runner-metadata">Runner metadata</h2>
        <MetadataTable metadata={meta} omit={PROMINENT} testId="runner-metadata" />
      </section>

      <section className="panel" aria-labelledby="build-output">
        <h2 id="build-output">Output</h2>
        <BuildLogs id={build.id} runner={build.runner} live={!build.terminal} metadata={meta} />
      </section>

      <section className="panel" aria-labelledby="request-metadata">
        <h2 id="request-metadata">Request metadata</h2>
        <MetadataTable metadata={batch?.metadata ?? {}} testId="request-metadata" />
      </section>
    </div>
  );
}
