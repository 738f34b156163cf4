// Where a CI build's log is read: the runner's metadata names the build's page
// (buildUrl: Buildkite's build with its jobs' logs, GitHub's run) and, for
// GitHub, each job's page ("job: <name>"). Only http(s) URLs become links.
import { httpUrl } from "./metadata-table";

export function logLinks(metadata: Record<string, string>): Array<{ label: string; href: string }> {
  const out: Array<{ label: string; href: string }> = [];
  const build = metadata.buildUrl ? httpUrl(metadata.buildUrl) : undefined;
  if (build) out.push({ label: "The build's log", href: build });
  for (const [key, value] of Object.entries(metadata).sort(([a], [b]) => a.localeCompare(b))) {
    const href = key.startsWith("job: ") ? httpUrl(value) : undefined;
    if (href) out.push({ label: `Log of ${key}`, href });
  }
  return out;
}
