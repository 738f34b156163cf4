// What an audit row acted on. A requeue-all or purge row names its filter and
// its job: it links to the DLQ page with that filter and the job's progress,
// and says how the job ended and how many of the planned rows moved (the
// Rows column is what really moved, kept by the job batch by batch).
import Link from "next/link";
import { dlqHref } from "@/components/queue/hrefs";

interface JobTarget {
  topic: string;
  search?: string;
  failureGroup?: string;
  originalGroup?: string;
  job: string;
  planned?: number;
  state?: string;
}

function jobTarget(action: string, target: string): JobTarget | undefined {
  if (action !== "dlq.requeue-matching" && action !== "dlq.purge") return undefined;
  try {
    const t = JSON.parse(target) as Partial<JobTarget> | null;
    return t && typeof t.topic === "string" && typeof t.job === "string" ? (t as JobTarget) : undefined;
  } catch {
    return undefined;
  }
}

const STATES: Record<string, string> = {
  running: "running",
  done: "done",
  cancelled: "cancelled",
  failed: "failed",
};

export function AuditTarget({ action, target, count }: { action: string; target: string; count: number }) {
  const job = jobTarget(action, target);
  if (!job) return <>{target}</>;
  const href = dlqHref({
    topic: job.topic,
    q: job.search,
    fg: job.failureGroup,
    og: job.originalGroup,
    job: job.job,
  });
  const filter = [
    job.search ? `matching “${job.search}”` : "",
    job.failureGroup ? `failing with “${job.failureGroup}”` : "",
    job.originalGroup ? `from group ${job.originalGroup}` : "",
  ].filter(Boolean);
  const state = STATES[job.state ?? ""] ?? job.state ?? "";
  return (
    // Table cells do not wrap; this one's words may, so the row's count stays in its own column.
    <span data-testid="audit-job" data-job={job.job} data-state={state} style={{ whiteSpace: "normal" }}>
      <Link href={href}>
        {job.topic}
        {filter.length > 0 ? ` ${filter.join(", ")}` : ", everything"}
      </Link>{" "}
      <span className="muted">
        · job {job.job.slice(0, 8)} · {state}
        {job.planned !== undefined ? ` · ${count} of ${job.planned} planned` : ""}
      </span>
    </span>
  );
}
