"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
// A consumer group's consumption of a topic: running, or paused (by whom,
// since when), with the operator's Pause / Resume. Pausing asks first: it
// stops the group's work until someone resumes it.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { RelativeTime } from "@/components/relative-time";
import { useTRPC } from "@/components/trpc-provider";

export function PauseControl({
  topic,
  group,
  pausedAt,
  pausedBy,
}: {
  topic: string;
  group: string;
  pausedAt: number | null;
  pausedBy: string | null;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canAct = useCanAct();
  const [confirming, setConfirming] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const openerRef = useRef<HTMLButtonElement>(null);
  // Focus moves into the confirm step on its safe choice, and back to Pause when it closes.
  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
  }, [confirming]);
  const closeConfirm = () => {
    setConfirming(false);
    requestAnimationFrame(() => openerRef.current?.focus());
  };
  const onSuccess = () => {
    setConfirming(false);
    void queryClient.invalidateQueries({ queryKey: trpc.queue.topic.queryKey({ topic }) });
    void queryClient.invalidateQueries({ queryKey: trpc.queue.overview.queryKey() });
  };
  const pause = useMutation(trpc.queue.pause.mutationOptions({ onSuccess }));
  const resume = useMutation(trpc.queue.resume.mutationOptions({ onSuccess }));
  const busy = pause.isPending || resume.isPending;
  const error = pause.error ?? resume.error;
  return (
    <span className="pause-control" data-testid="pause-control" data-paused={pausedAt !== null}>
      {pausedAt !== null ? (
        <>
          <span className="state state-dead" data-testid="paused-badge">
            paused
          </span>{" "}
          <span className="small">
            by <span className="mono">{pausedBy}</span> <RelativeTime ms={pausedAt} />
          </span>{" "}
          <button
            type="button"
            className="btn"
            disabled={!canAct || busy}
            title={canAct ? undefined : OPERATORS_ONLY}
            onClick={() => resume.mutate({ topic, group })}
          >
            Resume
          </button>
        </>
      ) : confirming ? (
        <fieldset className="inline-confirm" aria-label={`Pause group ${group}?`}>
          <span className="small">Stop handing out {group}’s messages?</span>{" "}
          <button type="button" className="btn" ref={cancelRef} onClick={closeConfirm}>
            Cancel
          </button>{" "}
          <button
            type="button"
            className="btn btn-danger"
            disabled={busy}
            onClick={() => pause.mutate({ topic, group })}
          >
            Pause {group}
          </button>
        </fieldset>
      ) : (
        <>
          <span className="small muted">running</span>{" "}
          <button
            type="button"
            className="btn"
            ref={openerRef}
            disabled={!canAct || busy}
            title={canAct ? undefined : OPERATORS_ONLY}
            onClick={() => setConfirming(true)}
          >
            Pause
          </button>
        </>
      )}
      {error ? (
        <span className="text-bad small" role="alert">
          {" "}
          {error.message}
        </span>
      ) : null}
    </span>
  );
}
