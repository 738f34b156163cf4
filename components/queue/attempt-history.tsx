"use client";
import { useQuery } from "@tanstack/react-query";
import { formatAbsolute, formatDuration } from "@/components/format";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
// A message's delivery attempts in each consumer group: who held it, from
// when, for how long and how it ended, and when a retry is due. The queue
// keeps the last few attempts per message (the cap is shown when older ones
// were dropped).
import type { AttemptOutcomeName } from "@/server/queue";
import { live } from "./live";

const OUTCOMES: Record<AttemptOutcomeName, { label: string; tone: string }> = {
  in_flight: { label: "in flight", tone: "in_flight" },
  acked: { label: "acked", tone: "done" },
  nacked: { label: "nacked", tone: "retrying" },
  dead_lettered: { label: "dead-lettered", tone: "dead" },
  expired: { label: "visibility timeout expired", tone: "dead" },
  handed_back: { label: "handed back", tone: "ready" },
};

export function AttemptHistory({ topic, partitionKey, seq }: { topic: string; partitionKey: string; seq: number }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.queue.attempts.queryOptions({ topic, partitionKey, seq }, live));
  if (q.data === undefined)
    return <QueryState query={q} loading="Loading attempts…" failure="Could not load the attempts" small />;
  const a = q.data;
  if (a.groups.length === 0) return null;
  return (
    <div data-testid="attempt-history">
      {a.groups.map((g) => (
        <section key={g.group} data-group={g.group} aria-label={`Attempts in group ${g.group}`}>
          <h4>
            Attempts in <span className="mono">{g.group}</span>{" "}
            <span className="muted small">
              ({g.attempts} {g.attempts === 1 ? "attempt" : "attempts"})
            </span>
          </h4>
          {g.nextAttemptAt !== null ? (
            <p className="small" data-testid="next-attempt">
              Next attempt{" "}
              {g.nextAttemptAt <= a.now ? (
                <span title={formatAbsolute(g.nextAttemptAt)}>due now</span>
              ) : (
                <RelativeTime ms={g.nextAttemptAt} />
              )}
            </p>
          ) : null}
          {g.visibleUntil !== null ? (
            <p className="small muted" data-testid="visible-until">
              Out with a subscriber; back to the queue <RelativeTime ms={g.visibleUntil} /> unless settled.
            </p>
          ) : null}
          {g.history.length === 0 ? (
            <p className="muted small">Not delivered to this group yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="table" data-testid="attempts-table">
                <TableHead columns={[num("#"), "Subscriber", "Fetched", num("Held"), "Outcome", "Reason"]} />
                <tbody>
                  {g.history.map((h) => (
                    <tr key={`${h.attempt}-${h.fetchedAt}`} data-outcome={h.outcome}>
                      <td className="num">{h.attempt}</td>
                      <td className="mono" title={h.owner}>
                        {h.subscriber || <span className="muted">—</span>}
                      </td>
                      <td>
                        <RelativeTime ms={h.fetchedAt} />
                      </td>
                      <td className="num">{formatDuration(h.heldMs)}</td>
                      <td>
                        <span className={`state state-${OUTCOMES[h.outcome].tone}`}>{OUTCOMES[h.outcome].label}</span>
                      </td>
                      <td className="wrap">{h.reason ?? <span className="muted">—</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {g.truncated ? (
            <p className="muted small">Older attempts are not kept: the last {a.cap} per message are.</p>
          ) : null}
        </section>
      ))}
    </div>
  );
}
