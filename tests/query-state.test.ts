// The pending / error / empty ladder every console view walks (QueryState),
// rendered to markup: which rung shows for each state a query can be in.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { type QueryLike, QueryState } from "@/components/query-state";

type Rows = string[];
const pending: QueryLike<Rows> = { data: undefined, error: null, isPending: true };
const failed: QueryLike<Rows> = { data: undefined, error: { message: "boom" }, isPending: false };
const rowsOf = (data: Rows, message?: string): QueryLike<Rows> => ({
  data,
  error: message ? { message } : null,
  isPending: false,
});

type Options = { none?: boolean; empty?: string; small?: boolean };

// A view that lists rows: the ladder with its children (it holds no hooks, so it is called as a function).
function RowsView({ query, ...options }: Options & { query: QueryLike<Rows> }) {
  return QueryState({
    query,
    loading: "Loading rows…",
    failure: "Could not load the rows",
    ...options,
    children: (rows) => `rows: ${rows.join(",")}`,
  });
}

function render(query: QueryLike<Rows>, options: Options = {}) {
  return renderToStaticMarkup(createElement(RowsView, { query, ...options }));
}

describe("QueryState", () => {
  it("shows the loading note until the first answer", () => {
    expect(render(pending)).toBe('<p class="muted">Loading rows…</p>');
  });

  it("shows the error, after what could not be done, when there is no data", () => {
    expect(render(failed)).toBe('<p class="note note-bad" role="alert">Could not load the rows: boom</p>');
  });

  it("shows the empty state when there is nothing to show", () => {
    expect(render(rowsOf([]), { none: true, empty: "No rows." })).toBe('<div class="empty"><p>No rows.</p></div>');
  });

  it("lets an error replace an empty list, but keeps rows on screen when a refresh fails", () => {
    expect(render(rowsOf([], "boom"), { none: true, empty: "No rows." })).toContain("Could not load the rows: boom");
    expect(render(rowsOf(["a", "b"], "boom"), { none: false, empty: "No rows." })).toBe("rows: a,b");
  });

  it("hands the data to its children once it has some", () => {
    expect(render(rowsOf(["a"]))).toBe("rows: a");
  });

  it("puts both notes in small type when asked", () => {
    expect(render(pending, { small: true })).toBe('<p class="muted small">Loading rows…</p>');
    expect(render(failed, { small: true })).toContain('class="note note-bad small"');
  });
});
