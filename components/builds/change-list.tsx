import type { Change } from "./types";

/** Changes in order, each with its URIs (a change may span several repositories). */
export function ChangeList({ changes, testId }: { changes: Change[]; testId: string }) {
  if (changes.length === 0) return <p className="muted small">None</p>;
  return (
    <ol className="changes" data-testid={testId}>
      {changes.map((change, i) => (
        // Changes have no identity of their own beyond their position.
        // biome-ignore lint/suspicious/noArrayIndexKey: the list is fixed for a batch
        <li key={i}>
          {change.uris.map((uri) => (
            <code key={uri} className="mono uri">
              {uri}
            </code>
          ))}
        </li>
      ))}
    </ol>
  );
}
