"use client";
// The buttons above the dead letters: requeue the picked rows, or requeue or
// purge everything that matches (each asks first, with the count), at a
// chosen rate.
import { OPERATORS_ONLY, useCanAct } from "@/components/auth/session-user";
import type { BulkKind } from "./bulk-dialog";
import { formatNumber } from "./format";

/** Picked rows go back in one call; more than this is the paced "Requeue all matching" job's work. */
const MAX_PICK = 500;
/** Requeue rates offered, messages per second. */
const RATES = [50, 200, 1000] as const;

export function DlqToolbar({
  topic,
  described,
  picked,
  requeueingPicked,
  onRequeuePicked,
  matching,
  rate,
  onRate,
  onBulk,
}: {
  topic: string;
  /** The filter in words, e.g. "matching “timeout”"; empty without one. */
  described: string;
  /** How many rows are picked. */
  picked: number;
  requeueingPicked: boolean;
  onRequeuePicked: () => void;
  /** How many dead letters the filter matches; undefined until counted. */
  matching: number | undefined;
  /** Messages per second for a requeue job. */
  rate: number;
  onRate: (rate: number) => void;
  onBulk: (kind: BulkKind) => void;
}) {
  const canAct = useCanAct();
  return (
    <>
      <div className="toolbar">
        <button
          type="button"
          className="btn"
          disabled={!canAct || picked === 0 || picked > MAX_PICK || requeueingPicked}
          title={canAct ? undefined : OPERATORS_ONLY}
          onClick={onRequeuePicked}
        >
          Requeue selected{picked > 0 ? ` (${formatNumber(picked)})` : ""}
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
          onClick={() => onBulk("requeue")}
        >
          Requeue all matching ({matching === undefined ? "…" : formatNumber(matching)})…
        </button>
        <label className="muted small">
          at{" "}
          <select value={rate} onChange={(e) => onRate(Number(e.currentTarget.value))} aria-label="Requeue rate">
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
          onClick={() => onBulk("purge")}
        >
          Purge matching…
        </button>
      </div>
      {picked > MAX_PICK ? (
        <p className="note note-warn">
          {formatNumber(picked)} picked: at most {MAX_PICK} at a time. Use "Requeue all matching" for more.
        </p>
      ) : null}
    </>
  );
}
