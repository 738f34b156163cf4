// The right-hand end of a paged table's footer: a "Load more" button while the
// keyset cursor has another page, an end marker once it has run out.

// The part of a TanStack infinite query the footer needs, so callers pass the
// query object itself.
export type MorePages = {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => Promise<unknown>;
};

export function LoadMore({
  pages,
  moreLabel = "Load more",
  endLabel = "End of the list",
}: {
  pages: MorePages;
  moreLabel?: string;
  endLabel?: string;
}) {
  return pages.hasNextPage ? (
    <button
      type="button"
      className="btn"
      onClick={() => void pages.fetchNextPage()}
      disabled={pages.isFetchingNextPage}
    >
      {pages.isFetchingNextPage ? "Loading…" : moreLabel}
    </button>
  ) : (
    <span className="muted small">{endLabel}</span>
  );
}
