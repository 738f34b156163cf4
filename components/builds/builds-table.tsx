"use client";
import Link from "next/link";
import { BuildStatusBadge } from "@/components/build-status-badge";
import { formatDuration } from "@/components/format";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { buildHref, buildsHref } from "./filter-params";
import type { BuildListItem } from "./types";

export function BuildsTable({ items }: { items: BuildListItem[] }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="builds-table">
        <TableHead columns={["Build", "Status", "Queue", "Runner", "Created", num("Duration"), "Batch"]} />
        <tbody>
          {items.map((b) => (
            <tr key={b.id} data-build-id={b.id}>
              <td>
                <Link href={buildHref(b.id)} className="mono">
                  {b.id}
                </Link>
              </td>
              <td>
                <BuildStatusBadge status={b.status} waitingFor={b.waitingFor} />
              </td>
              <td>
                <Link href={buildsHref({ queue: b.queue })} className="mono" title={`Only builds of ${b.queue}`}>
                  {b.queue}
                </Link>
              </td>
              <td>{b.runner}</td>
              <td>
                <RelativeTime ms={b.createdAt} />
              </td>
              <td className="num" title={b.finishedAt === null ? "so far" : undefined}>
                {formatDuration(b.duration)}
                {b.finishedAt === null ? "…" : ""}
              </td>
              <td>
                <span className="mono muted" title={b.batchId}>
                  {b.batchId.slice(0, 8)}
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
