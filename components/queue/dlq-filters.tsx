"use client";
// The DLQ's filter form: which DLQ topic, a search (id, partition key or
// error text) and the original group. A search keeps the failure group picked
// beside the list; another topic, or "Clear filters", starts afresh.
import type { FormEvent } from "react";
import type { DlqView } from "./hrefs";

export function DlqFilters({
  topic,
  topics,
  view,
  filtered,
  navigating,
  go,
}: {
  topic: string;
  topics: string[];
  view: DlqView;
  /** A search, failure group or original group narrows the list. */
  filtered: boolean;
  /** The address is changing: the list below is about to follow it. */
  navigating: boolean;
  go: (next: DlqView) => void;
}) {
  function onSearch(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const q = String(data.get("q") ?? "").trim();
    const og = String(data.get("og") ?? "").trim();
    go({ topic, fg: view.fg, q: q || undefined, og: og || undefined });
  }

  return (
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
  );
}
