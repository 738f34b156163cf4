"use client";
// Status and queue filters of the build list, kept in the URL so a filtered
// list can be bookmarked, shared and reloaded.
import { useRouter } from "next/navigation";
import { type FormEvent, useTransition } from "react";
import { BUILD_STATUSES } from "@/server/buildrunner/types";
import type { BuildFilter } from "@/server/pipeline/build-request-schema";
import { buildsHref } from "./filter-params";

export function BuildFilters({ filter, queues }: { filter: BuildFilter; queues: string[] }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();

  function apply(next: BuildFilter) {
    startTransition(() => router.push(buildsHref(next)));
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const queue = String(data.get("queue") ?? "").trim();
    apply({ status: filter.status, queue: queue || undefined });
  }

  return (
    <form className="filters" onSubmit={onSubmit} aria-label="Filter builds" aria-busy={pending}>
      <label className="filter">
        <span>Status</span>
        <select
          name="status"
          value={filter.status ?? ""}
          onChange={(e) => apply({ ...filter, status: (e.currentTarget.value || undefined) as BuildFilter["status"] })}
        >
          <option value="">any</option>
          {BUILD_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label className="filter">
        <span>Queue</span>
        {/* key: a new filter from the URL (a click on a queue in the table) resets the uncontrolled input. */}
        <input
          key={filter.queue ?? ""}
          name="queue"
          className="mono"
          list="builds-queue-options"
          defaultValue={filter.queue ?? ""}
          placeholder="any"
          title="A queue's full name, or part of one for every queue containing it"
          maxLength={191}
          spellCheck={false}
        />
        <datalist id="builds-queue-options">
          {queues.map((q) => (
            <option key={q} value={q} />
          ))}
        </datalist>
      </label>
      <button type="submit" className="btn">
        Filter
      </button>
      {filter.status || filter.queue ? (
        <button type="button" className="btn btn-link" onClick={() => apply({})}>
          Clear filters
        </button>
      ) : null}
      {pending ? <span className="muted small">Loading…</span> : null}
    </form>
  );
}
