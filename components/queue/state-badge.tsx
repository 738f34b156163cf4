import type { MessageState } from "@/server/queue";

const LABELS: Record<MessageState, string> = {
  ready: "ready",
  in_flight: "in flight",
  retrying: "retrying",
  deferred: "deferred",
  done: "done",
  dead: "dead",
  other_group: "for another group",
};

/** A message's state for one consumer group; "—" when no group is chosen. */
export function StateBadge({ state }: { state: MessageState | null }) {
  if (state === null) return <span className="muted">—</span>;
  return <span className={`state state-${state}`}>{LABELS[state]}</span>;
}
