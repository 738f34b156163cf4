"use client";
// Batches of capped queues waiting for a build slot: they have no build yet,
// so the build list alone would not show them.
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { RelativeTime } from "@/components/relative-time";
import { num, TableHead } from "@/components/table-head";
import { useTRPC } from "@/components/trpc-provider";
import { BUILDS_LIVE_MS } from "./filter-params";

export function WaitingBatches() {
  const trpc = useTRPC();
  const waiting = useQuery(
    trpc.builds.waiting.queryOptions({}, { refetchInterval: BUILDS_LIVE_MS, refetchIntervalInBackground: false }),
  );
  const items = waiting.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="waiting-batches-title">
      <h2 id="waiting-batches-title">Waiting for a build slot</h2>
      <div className="table-wrap">
        <table className="table" data-testid="waiting-batches">
          <TableHead columns={["Batch", "Queue", num("Place in line"), "Slots", "Requested"]} />
          <tbody>
            {items.map((b) => (
              <tr key={b.id} data-batch-id={b.id}>
                <td>
                  <Link href={`/builds/batch/${encodeURIComponent(b.id)}`} className="mono">
                    {b.id.slice(0, 8)}
                  </Link>
                </td>
                <td className="mono">{b.queue}</td>
                <td className="num">{b.position}</td>
                <td>{b.cap === null ? "no cap (starting)" : `${b.cap} at once`}</td>
                <td>
                  <RelativeTime ms={b.createdAt} /> by {b.requester}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
