"use client";
// Requeue-all and purge ask first, the same way: the exact count the filter
// matches now and the newest few of those rows, so the operator sees what
// will move before anything does. The action then carries that count, and the
// server refuses if the filter has come to match a different number in
// between (nothing moves then, and the dialog counts again).
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";
import { type DlqFilterView, describeFilter } from "./dlq-params";
import { formatNumber, plural } from "./format";

export type BulkKind = "requeue" | "purge";

const SAMPLE = 5;

export function BulkDialog({
  kind,
  filter,
  ratePerSecond,
  onClose,
  onStarted,
}: {
  kind: BulkKind;
  filter: DlqFilterView;
  /** Requeue pacing, rows per second. */
  ratePerSecond: number;
  onClose: () => void;
  onStarted: (jobId: string) => void;
}) {
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  // Always read afresh when the dialog opens: the number shown is the number confirmed.
  const fresh = { staleTime: 0, refetchOnMount: "always" as const };
  const count = useQuery(trpc.dlq.count.queryOptions(filter, fresh));
  const sample = useQuery(trpc.dlq.list.queryOptions({ ...filter, limit: SAMPLE }, fresh));
  const again = () => {
    void count.refetch();
    void sample.refetch();
  };
  const started = { onSuccess: (job: { id: string }) => onStarted(job.id), onError: again };
  const purge = useMutation(trpc.dlq.purge.mutationOptions(started));
  const requeue = useMutation(trpc.dlq.requeueMatching.mutationOptions(started));
  const action = kind === "purge" ? purge : requeue;

  // Focus starts on the safe choice (autoFocus below) and, when the dialog goes, returns to what opened it.
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (d && !d.open) d.showModal();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  const n = count.isFetching ? undefined : count.data?.count;
  const described = describeFilter(filter);
  const rows = sample.data?.rows ?? [];
  const title =
    n === undefined
      ? "Counting…"
      : kind === "purge"
        ? `Delete ${plural(n, "message")} from ${filter.topic}?`
        : `Requeue ${plural(n, "message")} from ${filter.topic}?`;
  const confirmLabel = kind === "purge" ? "Delete" : "Requeue";
  function confirm() {
    if (n === undefined) return;
    if (kind === "purge") purge.mutate({ filter, expectedCount: n });
    else requeue.mutate({ filter, expectedCount: n, ratePerSecond });
  }
  return (
    <dialog
      ref={ref}
      className="dialog dialog-wide"
      aria-labelledby="bulk-title"
      data-testid={`${kind}-dialog`}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="bulk-title">{title}</h2>
      <p>
        {described ? `Every dead letter ${described}.` : "Every dead letter in this topic."}{" "}
        {kind === "purge"
          ? "They are deleted for good: nothing is requeued."
          : `Each goes back to its original topic, for the consumer group it failed in, ${formatNumber(ratePerSecond)} a second.`}{" "}
        Failures that arrive after you confirm are not touched.
      </p>
      {rows.length > 0 && n !== undefined && n > 0 ? (
        <>
          <p className="muted small" style={{ marginBottom: "0.3rem" }}>
            {n > rows.length ? `The newest ${rows.length} of them:` : n === 1 ? "It is:" : "They are:"}
          </p>
          <div className="table-wrap">
            <table className="table table-compact" data-testid="bulk-sample">
              <thead>
                <tr>
                  <th>Message</th>
                  <th>Reason</th>
                  <th>Failed</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.logId} data-message-id={r.id}>
                    <td className="mono">
                      {r.id}
                      <div className="muted small">
                        {r.partitionKey} · {r.originalGroup}
                      </div>
                    </td>
                    <td className="mono small">{r.reason}</td>
                    <td>
                      <RelativeTime ms={r.failedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {action.isError ? (
        <p className="note note-bad" role="alert">
          {action.error.message}
        </p>
      ) : null}
      {count.isError ? (
        <p className="note note-bad" role="alert">
          Could not count: {count.error.message}
        </p>
      ) : null}
      <div className="dialog-actions">
        {/* biome-ignore lint/a11y/noAutofocus: a confirm step opens on its safe choice, not on the action */}
        <button type="button" className="btn" onClick={onClose} disabled={action.isPending} autoFocus>
          Keep them
        </button>
        <button
          type="button"
          className={kind === "purge" ? "btn btn-danger" : "btn btn-primary"}
          disabled={n === undefined || n === 0 || action.isPending}
          onClick={confirm}
        >
          {action.isPending ? "Starting…" : n === undefined ? confirmLabel : `${confirmLabel} ${plural(n, "message")}`}
        </button>
      </div>
    </dialog>
  );
}
