"use client";
// One DLQ topic's page, wiring its parts: the filters, the failure groups
// beside the list, a running job's progress, the toolbar, the open detail,
// the list, and the bulk dialog. It holds what they share: the address (the
// view), the picked rows, the requeue mutations and the job shown.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";
import { useTRPC } from "@/components/trpc-provider";
import { BulkDialog, type BulkKind } from "./bulk-dialog";
import { DlqDetail } from "./dlq-detail";
import { DlqFilters } from "./dlq-filters";
import { DlqInflow } from "./dlq-inflow";
import { DlqList } from "./dlq-list";
import { type DlqFilterView, describeFilter, dlqFilterOf } from "./dlq-params";
import { DlqToolbar } from "./dlq-toolbar";
import { FailureGroups } from "./failure-groups";
import { formatNumber, plural } from "./format";
import { type DlqView, dlqHref } from "./hrefs";
import { JobProgress } from "./job-progress";
import { countLive, live, PAGE_SIZE, slowLive } from "./live";
import { addressKey, useSelection } from "./selection";

/** Back to the row's link that opened the detail; if the row has gone (requeued), to the page. */
function returnFocus(key: string) {
  const opener = document.querySelector<HTMLElement>(`[data-dlq-open="${CSS.escape(key)}"]`);
  (opener ?? document.getElementById("main"))?.focus();
}

export function DlqTopicView({
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

  const matching = count.data?.count;
  const filtered = Boolean(view.q || view.fg || view.og);

  return (
    <>
      {ignored.length > 0 ? (
        <p className="note note-warn">Ignored an invalid {ignored.join(" and ")} in the address.</p>
      ) : null}
      <DlqFilters topic={topic} topics={topics} view={view} filtered={filtered} navigating={navigating} go={go} />

      <DlqInflow topic={topic} />

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
          <DlqToolbar
            topic={topic}
            described={describeFilter(filter)}
            picked={selection.size}
            requeueingPicked={requeueSelected.isPending}
            onRequeuePicked={() => requeueSelected.mutate({ addresses: selection.list() })}
            matching={matching}
            rate={rate}
            onRate={setRate}
            onBulk={(kind) => setBulk({ kind, filter })}
          />
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

          <DlqList
            list={list}
            rows={rows}
            topic={topic}
            view={view}
            filtered={filtered}
            matching={matching}
            selection={selection}
            onRequeue={requeueRow}
            requeueing={requeueing}
          />
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
