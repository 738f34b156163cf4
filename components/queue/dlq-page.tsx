"use client";
// The dead-letter queue: pick a DLQ topic, search (id, partition key, error
// text), filter by failure group or original group, and act: requeue one,
// the picked ones, or everything that matches (a paced job with progress);
// requeue-all and purge, of the whole filter or of one failure group, first
// show the exact count and the newest rows they would move. The view lives
// in the URL, so it can be linked (a job too: ?job=).
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { type FormEvent, useEffect, useState, useTransition } from "react";
import { LiveNote } from "../live-refresh";
import { LoadMore } from "../load-more";
import { useTRPC } from "../trpc-provider";
import { BulkDialog, type BulkKind } from "./bulk-dialog";
import { DlqDetail } from "./dlq-detail";
import { type DlqFilterView, describeFilter, dlqFilterOf } from "./dlq-params";
import { DlqTable } from "./dlq-table";
import { FailureGroups } from "./failure-groups";
import { formatNumber, plural } from "./format";
import { type DlqView, dlqHref } from "./hrefs";
import { JobProgress } from "./job-progress";
import { countLive, LIVE_MS, live, PAGE_SIZE, slowLive } from "./live";
import { addressKey, useSelection } from "./selection";

const MAX_PICK = 500;
const RATES = [50, 200, 1000] as const;

/** Back to the row's link that opened the detail; if the row has gone (requeued), to the page. */
function returnFocus(key: string) {
  const opener = document.querySelector<HTMLElement>(`[data-dlq-open="${CSS.escape(key)}"]`);
  (opener ?? document.getElementById("main"))?.focus();
}

export function DlqPage({ view, ignored }: { view: DlqView; ignored: string[] }) {
  const trpc = useTRPC();
  const topics = useQuery(trpc.dlq.topics.queryOptions(undefined, slowLive));
  const topic = view.topic ?? topics.data?.[0];
  if (!topic) {
    if (topics.isPending) return <p className="muted">Loading…</p>;
    if (topics.isError) {
      return (
        <p className="note note-bad" role="alert">
          Could not list the DLQ topics: {topics.error.message}
        </p>
      );
    }
    return (
      <div className="empty">
        <p>No dead letters anywhere: no consumer has given up on a message.</p>
      </div>
    );
  }
  const filter = dlqFilterOf(topic, view);
  // A new filter starts with nothing picked.
  return (
    <DlqTopicView
      key={JSON.stringify(filter)}
      topic={topic}
      topics={topics.data ?? [topic]}
      view={{ ...view, topic }}
      ignored={ignored}
    />
  );
}

function DlqTopicView({
  topic,
  topics,
  view,
  ignored,
}: {
  topic: string;
  topics: string[];
  view: DlqView;
  ignored: string[];
}) {
  const canAct = useCanAct();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const [navigating, startTransition] = useTransition();
  const selection = useSelection();
  const [jobId, setJobId] = useState<string | undefined>(view.job);
  const [bulk, setBulk] = useState<{ kind: BulkKind; filter: DlqFilterView } | undefined>();
  const [rate, setRate] = useState<number>(200);
  const [requeueing, setRequeueing] = useState<Set<string>>(() => new Set());
  const filter = dlqFilterOf(topic, view);
  const described = describeFilter(filter);

  const go = (next: DlqView) => startTransition(() => router.push(dlqHref(next), { scroll: false }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.dlq.pathKey() });

  const list = useInfiniteQuery(
    trpc.dlq.list.infiniteQueryOptions({ ...filter, limit: PAGE_SIZE }, { ...live, getNextPageParam: (p) => p.next }),
  );
  const rows = list.data?.pages.flatMap((p) => p.rows) ?? [];
  const count = useQuery(trpc.dlq.count.queryOptions(filter, countLive));
  const jobs = useQuery(trpc.dlq.jobs.queryOptions({ limit: 10 }, slowLive));
  // A job started elsewhere (another tab, before a reload) still shows its progress here.
  const runningHere = jobs.data?.find((j) => j.topic === topic && j.state === "running")?.id;
  const shownJob = jobId ?? runningHere;

  const { keepOnly } = selection;
  useEffect(() => keepOnly(rows), [rows, keepOnly]);

  const requeueOne = useMutation(trpc.dlq.requeueOne.mutationOptions({ onSettled: refresh }));
  const requeueSelected = useMutation(
    trpc.dlq.requeueSelected.mutationOptions({
      onSuccess: () => selection.clear(),
      onSettled: refresh,
    }),
  );
  const anyError = requeueOne.error ?? requeueSelected.error;

  function requeueRow(r: { topic: string; partitionKey: string; seq: number }) {
    const key = addressKey(r);
    setRequeueing((s) => new Set(s).add(key));
    requeueOne.mutate(
      { topic: r.topic, partitionKey: r.partitionKey, seq: r.seq },
      {
        onSettled: () =>
          setRequeueing((s) => {
            const next = new Set(s);
            next.delete(key);
            return next;
          }),
      },
    );
  }

  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const q = String(data.get("q") ?? "").trim();
    const og = String(data.get("og") ?? "").trim();
    go({ topic, fg: view.fg, q: q || undefined, og: og || undefined });
  }

  const matching = count.data?.count;
  const filtered = Boolean(view.q || view.fg || view.og);

  return (
    <>
      {ignored.length > 0 ? (
        <p className="note note-warn">Ignored an invalid {ignored.join(" and ")} in the address.</p>
      ) : null}
      <form className="filters" onSubmit={onSearch} aria-label="Filter dead letters" aria-busy={navigating}>
        <label className="filter">
          <span>DLQ topic</span>
          <select value={topic} onChange={(e) => go({ topic: e.currentTarget.value })}>
            {topics.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label className="filter">
          <span>Search</span>
          <input
            key={`q:${view.q ?? ""}`}
            name="q"
            type="search"
            defaultValue={view.q ?? ""}
            placeholder="id, partition key or error text"
            maxLength={200}
            style={{ minWidth: "18rem" }}
          />
        </label>
        <label className="filter">
          <span>Original group</span>
          <input
            key={`og:${view.og ?? ""}`}
            name="og"
            className="mono"
            defaultValue={view.og ?? ""}
            placeholder="any"
            maxLength={191}
            pattern="[A-Za-z0-9._:/\-]+"
            spellCheck={false}
          />
        </label>
        <button type="submit" className="btn">
          Search
        </button>
        {filtered ? (
          <button type="button" className="btn btn-link" onClick={() => go({ topic })}>
            Clear filters
          </button>
        ) : null}
        {navigating ? <span className="muted small">Loading…</span> : null}
      </form>

      <div className="split">
        <FailureGroups
          filter={filter}
          selected={view.fg}
          onPick={(fg) => go({ ...view, fg, pk: undefined, seq: undefined })}
          onAct={(kind, fg) => setBulk({ kind, filter: { ...filter, failureGroup: fg } })}
        />
        <div>
          {shownJob ? <JobProgress key={shownJob} id={shownJob} onDismiss={() => setJobId(undefined)} /> : null}
          {view.fg ? (
            <p className="small" style={{ marginTop: 0 }}>
              Failure group <code>{view.fg}</code>{" "}
              <button type="button" className="btn btn-link btn-sm" onClick={() => go({ ...view, fg: undefined })}>
                show all groups
              </button>
            </p>
          ) : null}
          <div className="toolbar">
            <button
              type="button"
              className="btn"
              disabled={!canAct || selection.size === 0 || selection.size > MAX_PICK || requeueSelected.isPending}
              title={canAct ? undefined : OPERATORS_ONLY}
              onClick={() => requeueSelected.mutate({ addresses: selection.list() })}
            >
              Requeue selected{selection.size > 0 ? ` (${formatNumber(selection.size)})` : ""}
            </button>
            <button
              type="button"
              className="btn btn-primary"
              disabled={!canAct || !matching}
              title={
                canAct
                  ? `Requeue every dead letter in ${topic}${described ? ` ${described}` : ""}, ${rate} per second`
                  : OPERATORS_ONLY
              }
              onClick={() => setBulk({ kind: "requeue", filter })}
            >
              Requeue all matching ({matching === undefined ? "…" : formatNumber(matching)})…
            </button>
            <label className="muted small">
              at{" "}
              <select value={rate} onChange={(e) => setRate(Number(e.currentTarget.value))} aria-label="Requeue rate">
                {RATES.map((r) => (
                  <option key={r} value={r}>
                    {r}/s
                  </option>
                ))}
              </select>
            </label>
            <span className="spacer" />
            <button
              type="button"
              className="btn btn-danger"
              disabled={!canAct || !matching}
              title={canAct ? undefined : OPERATORS_ONLY}
              onClick={() => setBulk({ kind: "purge", filter })}
            >
              Purge matching…
            </button>
          </div>
          {selection.size > MAX_PICK ? (
            <p className="note note-warn">
              {formatNumber(selection.size)} picked: at most {MAX_PICK} at a time. Use "Requeue all matching" for more.
            </p>
          ) : null}
          {anyError ? (
            <p className="note note-bad" role="alert">
              {anyError.message}
            </p>
          ) : requeueSelected.isSuccess ? (
            <p className="note" role="status">
              Requeued {plural(requeueSelected.data.requeued, "message")}
              {requeueSelected.data.requeued < requeueSelected.data.requested
                ? `; ${formatNumber(requeueSelected.data.requested - requeueSelected.data.requeued)} had gone already`
                : ""}
              .
            </p>
          ) : null}

          {view.pk && view.seq ? (
            <DlqDetail
              key={`${view.pk}#${view.seq}`}
              topic={topic}
              partitionKey={view.pk}
              seq={view.seq}
              onClose={() => {
                go({ ...view, pk: undefined, seq: undefined });
                returnFocus(addressKey({ topic, partitionKey: view.pk ?? "", seq: view.seq ?? 0 }));
              }}
            />
          ) : null}

          {list.isPending ? (
            <p className="muted">Loading dead letters…</p>
          ) : list.isError && rows.length === 0 ? (
            <p className="note note-bad" role="alert">
              Could not load the dead letters: {list.error.message}
            </p>
          ) : rows.length === 0 ? (
            <div className="empty">
              <p>{filtered ? "No dead letters match this filter." : `No dead letters in ${topic}.`}</p>
            </div>
          ) : (
            <>
              <DlqTable
                rows={rows}
                isPicked={selection.has}
                onPick={selection.toggle}
                onPickAll={(on) => selection.setAll(rows, on)}
                openHref={(r) => dlqHref({ ...view, pk: r.partitionKey, seq: r.seq })}
                onRequeue={requeueRow}
                requeueing={requeueing}
                open={view.pk && view.seq ? { topic, partitionKey: view.pk, seq: view.seq } : undefined}
              />
              <div className="table-footer">
                <span className="muted small" data-testid="dlq-shown">
                  {formatNumber(rows.length)} shown
                  {matching !== undefined ? ` of ${plural(matching, "match", "matches")}` : ""} · newest first ·{" "}
                  <LiveNote everyMs={LIVE_MS} />
                </span>
                <LoadMore pages={list} />
              </div>
            </>
          )}
        </div>
      </div>

      {bulk ? (
        <BulkDialog
          kind={bulk.kind}
          filter={bulk.filter}
          ratePerSecond={rate}
          onClose={() => setBulk(undefined)}
          onStarted={(id) => {
            setBulk(undefined);
            setJobId(id);
            refresh();
          }}
        />
      ) : null}
    </>
  );
}
