"use client";
import Link from "next/link";
// Dead letters newest first: reason, failures, when, where from; a checkbox
// per row, Requeue per row, and the id opens the detail above the list (a
// real link, so it also opens in a new tab).
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { PickAllHeader, PickCell } from "./pick-cells";
import { type Address, addressKey } from "./selection";
import type { DlqRowView } from "./types";

export function DlqTable({
  rows,
  isPicked,
  onPick,
  onPickAll,
  openHref,
  onRequeue,
  requeueing,
  open,
}: {
  rows: DlqRowView[];
  isPicked: (a: Address) => boolean;
  onPick: (a: Address, on: boolean) => void;
  onPickAll: (on: boolean) => void;
  /** The address of the page with this row's detail open. */
  openHref: (row: DlqRowView) => string;
  onRequeue: (row: DlqRowView) => void;
  requeueing: Set<string>;
  open?: Address;
}) {
  const canAct = useCanAct();
  const openKey = open ? addressKey(open) : undefined;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="dlq-table">
        <TableHead
          columns={["Failed", "Message", "Reason", num("Failures"), "Failed in", ""]}
          lead={<PickAllHeader rows={rows} isPicked={isPicked} onPickAll={onPickAll} />}
        />
        <tbody>
          {rows.map((r) => {
            const a = { topic: r.topic, partitionKey: r.partitionKey, seq: r.seq };
            const key = addressKey(a);
            const picked = isPicked(a);
            return (
              <tr
                key={r.logId}
                data-message-id={r.id}
                className={key === openKey ? "active-row" : picked ? "selected" : undefined}
              >
                <PickCell id={r.id} picked={picked} onPick={(on) => onPick(a, on)} />
                <td>
                  <RelativeTime ms={r.failedAt} />
                </td>
                <td>
                  <Link
                    href={openHref(r)}
                    scroll={false}
                    className="mono"
                    title="Show its failure and payload"
                    data-dlq-open={key}
                  >
                    {r.id}
                  </Link>
                  <div className="sub mono">
                    {r.partitionKey} #{r.seq}
                  </div>
                </td>
                <td className="reason" title={r.reason} data-col="reason">
                  {r.reason}
                </td>
                <td className="num">{r.failureCount}</td>
                <td>
                  <span className="mono">{r.originalTopic}</span>
                  <div className="sub">
                    group <span className="mono">{r.originalGroup}</span>
                  </div>
                </td>
                <td>
                  <div className="actions">
                    <button
                      type="button"
                      className="btn btn-sm"
                      disabled={!canAct || requeueing.has(key)}
                      title={canAct ? undefined : OPERATORS_ONLY}
                      onClick={() => onRequeue(r)}
                    >
                      Requeue
                    </button>
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
