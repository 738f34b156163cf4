"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
// A requeue or purge job's progress, polled while it runs, with Cancel.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { QueryState } from "@/components/query-state";
import { useTRPC } from "@/components/trpc-provider";
import { formatNumber } from "./format";

const JOB_POLL_MS = 1_000;

export function JobProgress({ id, onDismiss }: { id: string; onDismiss: () => void }) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const q = useQuery(
    trpc.dlq.job.queryOptions(
      { id },
      {
        refetchInterval: (query) => (query.state.data?.state === "running" ? JOB_POLL_MS : false),
        refetchIntervalInBackground: false,
      },
    ),
  );
  const cancel = useMutation(
    trpc.dlq.cancelJob.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.dlq.job.queryKey({ id }) }),
    }),
  );
  const job = q.data;

  // When the job ends, the list, counts and groups change: refresh them at once.
  const ended = job !== undefined && job.state !== "running";
  const refreshed = useRef(false);
  useEffect(() => {
    if (ended && !refreshed.current) {
      refreshed.current = true;
      void queryClient.invalidateQueries({ queryKey: trpc.dlq.pathKey() });
    }
  }, [ended, queryClient, trpc]);

  if (!job) return <QueryState query={q} loading={null} />;
  const verb = job.kind === "requeue" ? "Requeued" : "Deleted";
  const label =
    job.state === "running"
      ? `${verb} ${formatNumber(job.processed)} of ${formatNumber(job.total)}…`
      : job.state === "done"
        ? `${verb} ${formatNumber(job.processed)} of ${formatNumber(job.total)}. Done.`
        : job.state === "cancelled"
          ? `Cancelled after ${formatNumber(job.processed)} of ${formatNumber(job.total)}.`
          : `Failed after ${formatNumber(job.processed)} of ${formatNumber(job.total)}: ${job.error ?? "unknown error"}`;
  return (
    <section
      className={`note ${job.state === "failed" ? "note-bad" : ""}`}
      aria-label={`${job.kind} job`}
      data-testid="job-progress"
      data-state={job.state}
      data-processed={job.processed}
      data-total={job.total}
    >
      <div className="progress">
        <strong>{job.kind === "requeue" ? "Requeue" : "Purge"}</strong>
        <progress max={Math.max(1, job.total)} value={job.processed} aria-label={`${job.kind} progress`} />
        <span role="status">{label}</span>
        {job.state === "running" ? (
          <button
            type="button"
            className="btn btn-sm btn-danger"
            disabled={!canAct || cancel.isPending}
            title={canAct ? undefined : OPERATORS_ONLY}
            onClick={() => cancel.mutate({ id })}
          >
            {cancel.isPending ? "Cancelling…" : "Cancel"}
          </button>
        ) : (
          <button type="button" className="btn btn-sm" onClick={onDismiss}>
            Dismiss
          </button>
        )}
      </div>
      {job.kind === "requeue" && job.state === "running" ? (
        <p className="muted small">Paced at {formatNumber(job.ratePerSecond)} per second.</p>
      ) : null}
      {cancel.isError ? <p className="field-error">{cancel.error.message}</p> : null}
    </section>
  );
}
