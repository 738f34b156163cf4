"use client";
// Purge asks first, with the exact count of what the filter matches now; the
// purge then carries that count, and the server refuses if the filter has
// come to match a different number in between (nothing is deleted then).
import { useMutation, useQuery } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useTRPC } from "../trpc-provider";
import { type DlqFilterView, describeFilter } from "./dlq-params";
import { plural } from "./format";

export function PurgeDialog({
  filter,
  onClose,
  onStarted,
}: {
  filter: DlqFilterView;
  onClose: () => void;
  onStarted: (jobId: string) => void;
}) {
  const trpc = useTRPC();
  const ref = useRef<HTMLDialogElement>(null);
  const keepRef = useRef<HTMLButtonElement>(null);
  // Always counted afresh when the dialog opens: the number shown is the number confirmed.
  const count = useQuery(trpc.dlq.count.queryOptions(filter, { staleTime: 0, refetchOnMount: "always" }));
  const purge = useMutation(
    trpc.dlq.purge.mutationOptions({
      onSuccess: (job) => onStarted(job.id),
      onError: () => void count.refetch(),
    }),
  );

  // Focus starts on the safe choice and, when the dialog goes, returns to what opened it.
  useEffect(() => {
    const d = ref.current;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (d && !d.open) d.showModal();
    keepRef.current?.focus();
    return () => {
      d?.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  const n = count.isFetching ? undefined : count.data?.count;
  const described = describeFilter(filter);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="purge-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="purge-title">{n === undefined ? "Counting…" : `Delete ${plural(n, "message")} from ${filter.topic}?`}</h2>
      <p>
        {described ? `Every dead letter ${described}.` : "Every dead letter in this topic."} They are deleted for good:
        nothing is requeued. Failures that arrive after you confirm are not touched.
      </p>
      {purge.isError ? (
        <p className="note note-bad" role="alert">
          {purge.error.message}
        </p>
      ) : null}
      {count.isError ? (
        <p className="note note-bad" role="alert">
          Could not count: {count.error.message}
        </p>
      ) : null}
      <div className="dialog-actions">
        <button ref={keepRef} type="button" className="btn" onClick={onClose} disabled={purge.isPending}>
          Keep them
        </button>
        <button
          type="button"
          className="btn btn-danger"
          disabled={n === undefined || n === 0 || purge.isPending}
          onClick={() => n !== undefined && purge.mutate({ filter, expectedCount: n })}
        >
          {purge.isPending ? "Starting…" : n === undefined ? "Delete" : `Delete ${plural(n, "message")}`}
        </button>
      </div>
    </dialog>
  );
}
