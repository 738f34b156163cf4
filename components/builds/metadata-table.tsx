// Free-form metadata (a runner's answer, a request's labels) as a key/value
// table. A value that is an http(s) URL, such as a CI build's page, is a link;
// nothing else is (a javascript: URL from a runner must never become one).

export function httpUrl(value: string): string | undefined {
  if (!/^https?:\/\//i.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

export function MetadataTable({
  metadata,
  omit = [],
  testId,
}: {
  metadata: Record<string, string>;
  omit?: string[];
  testId?: string;
}) {
  const entries = Object.entries(metadata)
    .filter(([k]) => !omit.includes(k))
    .sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <p className="muted small">None</p>;
  return (
    <table className="table table-kv" data-testid={testId}>
      <tbody>
        {entries.map(([key, value]) => {
          const href = httpUrl(value);
          return (
            <tr key={key} data-key={key}>
              <th scope="row" className="mono">
                {key}
              </th>
              <td className="mono wrap">
                {href ? (
                  <a href={href} target="_blank" rel="noopener noreferrer">
                    {value}
                  </a>
                ) : (
                  value
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
