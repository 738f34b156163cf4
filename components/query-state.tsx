// The ladder every query-backed view walks before it shows its data: a muted
// note while the first answer is pending, the error when there is nothing
// else to show, the empty state, then the data. A failed refresh with data
// on screen keeps the data (the live note says it may be stale).
import type { ReactNode } from "react";

/** The part of a TanStack query the ladder reads, so callers pass the query object itself. */
export type QueryLike<T> = {
  data: T | undefined;
  error: { message: string } | null;
  isPending: boolean;
};

export function QueryState<T>({
  query,
  none = query.data === undefined,
  loading,
  failure,
  empty,
  small = false,
  children,
}: {
  query: QueryLike<T>;
  /** Nothing to show (default: no data yet); a list passes "no rows", so an error replaces an empty list. */
  none?: boolean;
  /** The pending note's text; null shows nothing while pending. */
  loading: string | null;
  /** Put before the error's message, e.g. "Could not load the builds"; without it, the message alone. */
  failure?: string;
  /** The empty state's sentence when `none`; without it, `none` data goes to children as it is. */
  empty?: ReactNode;
  /** Notes in small type, for a side panel or a section inside one. */
  small?: boolean;
  children?: (data: T) => ReactNode;
}) {
  const size = small ? " small" : "";
  if (query.isPending) return loading === null ? null : <p className={`muted${size}`}>{loading}</p>;
  const data = query.data;
  if (query.error && (none || data === undefined)) {
    return (
      <p className={`note note-bad${size}`} role="alert">
        {failure ? `${failure}: ` : null}
        {query.error.message}
      </p>
    );
  }
  if (none && empty !== undefined) {
    return (
      <div className="empty">
        <p>{empty}</p>
      </div>
    );
  }
  // A settled query without data has failed, which the rung above showed.
  return data === undefined ? null : children?.(data);
}
