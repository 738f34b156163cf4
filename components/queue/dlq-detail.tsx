"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useEffect, useRef } from "react";
// One dead letter beside the list: its failure, where it came from, its
// metadata and payload, and a Requeue button.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { MetadataTable } from "@/components/builds/metadata-table";
import { formatAbsolute } from "@/components/format";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";
import { messageHref, topicHref } from "./hrefs";
import { PayloadBlock } from "./payload-block";

export function DlqDetail({
  topic,
  partitionKey,
  seq,
  onClose,
}: {
  topic: string;
  partitionKey: string;
  seq: number;
  onClose: () => void;
}) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // Not live: a dead letter does not change; it only goes away (requeue, purge).
  const q = useQuery(trpc.dlq.detail.queryOptions({ topic, partitionKey, seq }, { retry: false }));
  const requeue = useMutation(
    trpc.dlq.requeueOne.mutationOptions({
      onSuccess: () => void queryClient.invalidateQueries({ queryKey: trpc.dlq.pathKey() }),
    }),
  );

  // Opening the detail takes keyboard focus into it; Escape, like Close, gives it back (see the caller's onClose).
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.focus(), []);

  return (
    <section
      ref={ref}
      tabIndex={-1}
      className="panel"
      aria-label="Dead letter"
      data-testid="dlq-detail"
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
      }}
    >
      <div className="toolbar">
        <h2 style={{ margin: 0 }}>
          Dead letter <span className="mono">{q.data?.id ?? ""}</span>
        </h2>
        <span className="spacer" />
        {q.data && !requeue.isSuccess ? (
          <button
            type="button"
            className="btn btn-primary btn-sm"
            disabled={!canAct || requeue.isPending}
            title={canAct ? undefined : OPERATORS_ONLY}
            onClick={() => requeue.mutate({ topic, partitionKey, seq })}
          >
            {requeue.isPending ? "Requeueing…" : "Requeue"}
          </button>
        ) : null}
        <button type="button" className="btn btn-sm" onClick={onClose}>
          Close
        </button>
      </div>
      {requeue.isSuccess ? (
        <p className="note" role="status">
          Requeued to <span className="mono">{q.data?.originalTopic}</span> for group{" "}
          <span className="mono">{q.data?.originalGroup}</span>.
        </p>
      ) : requeue.isError ? (
        <p className="note note-bad" role="alert">
          {requeue.error.message}
        </p>
      ) : null}
      {q.isPending ? (
        <p className="muted">Loading…</p>
      ) : q.isError ? (
        requeue.isSuccess ? null : (
          <p className="note note-warn" role="alert">
            {q.error.message}
          </p>
        )
      ) : (
        <>
          <p className="text-bad" data-testid="dlq-detail-reason" style={{ whiteSpace: "pre-wrap", marginTop: 0 }}>
            {q.data.reason}
          </p>
          <dl className="facts">
            <div>
              <dt>Failed</dt>
              <dd title={formatAbsolute(q.data.failedAt)}>
                <RelativeTime ms={q.data.failedAt} />
              </dd>
            </div>
            <div>
              <dt>Failures</dt>
              <dd>{q.data.failureCount}</dd>
            </div>
            <div>
              <dt>Original topic</dt>
              <dd>
                <Link href={topicHref(q.data.originalTopic, { group: q.data.originalGroup })} className="mono">
                  {q.data.originalTopic}
                </Link>
              </dd>
            </div>
            <div>
              <dt>Group</dt>
              <dd className="mono">{q.data.originalGroup}</dd>
            </div>
            <div>
              <dt>Partition · seq</dt>
              <dd>
                <Link href={messageHref(topic, partitionKey, seq)} className="mono">
                  {partitionKey} #{seq}
                </Link>
              </dd>
            </div>
            <div>
              <dt>First published</dt>
              <dd>
                <RelativeTime ms={q.data.publishedAt} />
              </dd>
            </div>
            {q.data.failureGroup ? (
              <div className="wide">
                <dt>Failure group</dt>
                <dd className="mono">{q.data.failureGroup}</dd>
              </div>
            ) : null}
          </dl>
          <h3>Metadata</h3>
          <MetadataTable metadata={q.data.metadata} />
          <div style={{ marginTop: "0.8rem" }}>
            <PayloadBlock payload={q.data.payload} name={q.data.id} />
          </div>
        </>
      )}
    </section>
  );
}
