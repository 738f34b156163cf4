"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
// Cancel with a confirm step: the first click asks, the second cancels.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { useTRPC } from "@/components/trpc-provider";
import { useConfirmFocus } from "@/components/use-confirm-focus";

export function CancelBuild({ id }: { id: string }) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const { safeRef, openerRef } = useConfirmFocus(confirming);
  const cancel = useMutation(
    trpc.builds.cancel.mutationOptions({
      onSuccess: () => {
        setConfirming(false);
        // Show "cancelled" as soon as the pipeline has recorded it, without waiting for the next poll.
        void queryClient.invalidateQueries({ queryKey: trpc.builds.get.queryKey({ id }) });
        void queryClient.invalidateQueries({ queryKey: trpc.builds.list.pathKey() });
      },
    }),
  );

  if (cancel.isSuccess) {
    return (
      <p className="note" data-testid="cancel-result">
        {cancel.data.result === "requested"
          ? "Cancel requested: waiting for the runner to stop the build…"
          : "The build had finished already."}
      </p>
    );
  }
  if (!confirming) {
    return (
      <button
        ref={openerRef}
        type="button"
        className="btn btn-danger"
        disabled={!canAct}
        title={canAct ? undefined : OPERATORS_ONLY}
        onClick={() => setConfirming(true)}
      >
        Cancel build
      </button>
    );
  }
  return (
    <fieldset className="confirm" aria-label="Confirm cancel">
      <span>Stop this build? Its runner kills it; this cannot be undone.</span>
      <button
        type="button"
        className="btn btn-danger"
        onClick={() => cancel.mutate({ id })}
        disabled={cancel.isPending}
      >
        {cancel.isPending ? "Cancelling…" : "Yes, cancel build"}
      </button>
      <button
        ref={safeRef}
        type="button"
        className="btn"
        onClick={() => setConfirming(false)}
        disabled={cancel.isPending}
      >
        Keep it running
      </button>
      {cancel.isError ? (
        <p className="field-error" role="alert">
          {cancel.error.message}
        </p>
      ) : null}
    </fieldset>
  );
}
