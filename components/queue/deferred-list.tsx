"use client";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useTransition } from "react";
// Deferred messages (published with a delay, not yet visible), soonest
// first, with the time left counting down; deliver one, or the picked ones,
// now. The topic filter lives in the URL.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { LiveNote } from "@/components/live-refresh";
import { LoadMore } from "@/components/load-more";
import { QueryState } from "@/components/query-state";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { Countdown, deadlineOf, useArrivedAt, VisibleAt } from "./countdown";
import { formatNumber, plural } from "./format";
import { deferredHref, messageHref } from "./hrefs";
import { LIVE_MS, live, PAGE_SIZE } from "./live";
import { PickAllHeader, PickCell } from "./pick-cells";
import { type Address, useSelection } from "./selection";

const MAX_PICK = 500;

export function DeferredList({ topic }: { topic?: string }) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const selection = useSelection();
  const topics = useQuery(trpc.queue.overview.queryOptions(undefined, { staleTime: 30_000 }));
  const q = useInfiniteQuery(
    trpc.deferred.list.infiniteQueryOptions(
      { topic, limit: PAGE_SIZE },
      { ...live, getNextPageParam: (page) => page.next },
    ),
  );
  const rows = q.data?.pages.flatMap((p) => p.rows) ?? [];
  const arrivedAt = useArrivedAt(q.data);
  // The topics the filter text named: its full name, or every one containing it.
  const matched = q.data?.pages[0]?.matched ?? null;
  const where =
    topic === undefined
      ? ""
      : matched && matched.length === 1 && matched[0] === topic
        ? ` in ${topic}`
        : ` in topics containing “${topic}”`;

  const deliver = useMutation(
    trpc.deferred.deliverNow.mutationOptions({
      onSuccess: () => {
        selection.clear();
        void queryClient.invalidateQueries({ queryKey: trpc.deferred.list.pathKey() });
      },
    }),
  );

  // Delivered rows leave the list: forget their checkboxes.
  const { keepOnly } = selection;
  useEffect(() => keepOnly(rows), [rows, keepOnly]);

  function onFilter(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const value = String(new FormData(e.currentTarget).get("topic") ?? "").trim();
    startTransition(() => router.push(deferredHref(value || undefined)));
  }

  const address = (r: Address): Address => ({ topic: r.topic, partitionKey: r.partitionKey, seq: r.seq });

  return (
    <>
      <form className="filters" onSubmit={onFilter} aria-label="Filter deferred messages" aria-busy={pending}>
        <label className="filter">
          <span>Topic</span>
          <input
            key={topic ?? ""}
            name="topic"
            className="mono"
            list="deferred-topic-options"
            defaultValue={topic ?? ""}
            placeholder="every topic"
            title="A topic's full name, or part of one for every topic containing it"
            maxLength={191}
            spellCheck={false}
          />
          <datalist id="deferred-topic-options">
            {(topics.data?.topics ?? [])
              .filter((t) => !t.isDlq)
              .map((t) => (
                <option key={t.topic} value={t.topic} />
              ))}
          </datalist>
        </label>
        <button type="submit" className="btn">
          Filter
        </button>
        {topic ? (
          <button
            type="button"
            className="btn btn-link"
            onClick={() => startTransition(() => router.push("/deferred"))}
          >
            Every topic
          </button>
        ) : null}
      </form>

      <div className="toolbar">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!canAct || selection.size === 0 || deliver.isPending}
          title={canAct ? undefined : OPERATORS_ONLY}
          onClick={() => deliver.mutate({ addresses: selection.list().slice(0, MAX_PICK) })}
        >
          Deliver selected now{selection.size > 0 ? ` (${formatNumber(selection.size)})` : ""}
        </button>
        {selection.size > MAX_PICK ? <span className="text-bad small">At most {MAX_PICK} at a time.</span> : null}
        <span className="spacer" />
        <span className="muted small">
          Soonest first · <LiveNote everyMs={LIVE_MS} />
          {q.isRefetching ? " · refreshing" : ""}
        </span>
      </div>
      {deliver.isError ? (
        <p className="note note-bad" role="alert">
          Could not deliver: {deliver.error.message}
        </p>
      ) : deliver.isSuccess ? (
        <p className="note" role="status" data-testid="deliver-result">
          {deliver.data.delivered === deliver.data.requested
            ? `${plural(deliver.data.delivered, "message")} delivered now.`
            : `${plural(deliver.data.delivered, "message")} delivered now; ${formatNumber(
                deliver.data.requested - deliver.data.delivered,
              )} had become visible already.`}
        </p>
      ) : null}

      {matched && matched.length > 1 ? (
        <p className="muted small" data-testid="matched-topics">
          Topics containing “{topic}”: {matched.join(", ")}
        </p>
      ) : null}
      <QueryState
        query={q}
        none={rows.length === 0}
        loading="Loading deferred messages…"
        failure="Could not load the deferred messages"
        empty={
          matched && matched.length === 0
            ? `No topic name contains “${topic}”.`
            : `No deferred messages${where}: everything published is visible.`
        }
      >
        {() => (
          <>
            <div className="table-wrap">
              <table className="table" data-testid="deferred-table">
                <TableHead
                  columns={["Time left", "Topic", "Partition", num("Seq"), "Message id", "Published", "Visible at", ""]}
                  lead={
                    <PickAllHeader
                      rows={rows}
                      isPicked={selection.has}
                      onPickAll={(on) => selection.setAll(rows, on)}
                    />
                  }
                />
                <tbody>
                  {rows.map((r) => {
                    const picked = selection.has(r);
                    return (
                      <tr
                        key={`${r.topic}\u0000${r.partitionKey}\u0000${r.seq}`}
                        data-message-id={r.id}
                        className={picked ? "selected" : undefined}
                      >
                        <PickCell id={r.id} picked={picked} onPick={(on) => selection.toggle(address(r), on)} />
                        <td data-col="time-left">
                          <Countdown deadline={deadlineOf(r.remainingMs, arrivedAt)} />
                        </td>
                        <td className="mono">{r.topic}</td>
                        <td className="mono">{r.partitionKey}</td>
                        <td className="num">{r.seq}</td>
                        <td className="mono">
                          <Link href={messageHref(r.topic, r.partitionKey, r.seq)}>{r.id}</Link>
                        </td>
                        <td>
                          <RelativeTime ms={r.publishedAt} />
                        </td>
                        <td data-col="visible-at">
                          <VisibleAt deadline={deadlineOf(r.remainingMs, arrivedAt)} />
                        </td>
                        <td>
                          <button
                            type="button"
                            className="btn btn-sm"
                            disabled={!canAct || deliver.isPending}
                            title={canAct ? undefined : OPERATORS_ONLY}
                            onClick={() => deliver.mutate({ addresses: [address(r)] })}
                          >
                            Deliver now
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <div className="table-footer">
              <span className="muted small">{plural(rows.length, "deferred message")} shown</span>
              <LoadMore pages={q} />
            </div>
          </>
        )}
      </QueryState>
    </>
  );
}
