// Shown above data that is still on screen when its live refresh failed: the
// last good numbers stay, and the query keeps polling.

export function RefreshFailed({ error }: { error: { message: string } | null }) {
  return error ? (
    <p className="note note-warn" role="alert">
      Live refresh failed ({error.message}); retrying.
    </p>
  ) : null;
}
