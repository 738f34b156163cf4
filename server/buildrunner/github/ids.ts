// A github build's id names the repository and the workflow run, since
// GitHub's run endpoints take both: github:{owner}/{repo}/{run id}.
export type GitHubRunRef = { owner: string; repo: string; runId: string };

const PREFIX = "github:";
// GitHub's rules: owners are letters, digits and single hyphens (39 at most); repositories also take . and _.
export const OWNER_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
export const REPO_PATTERN = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;
const RUN_ID = /^[1-9][0-9]{0,19}$/;

export function formatRunId(ref: GitHubRunRef): string {
  return `${PREFIX}${ref.owner}/${ref.repo}/${ref.runId}`;
}

export function parseRunId(id: string): GitHubRunRef {
  const parts = id.startsWith(PREFIX) ? id.slice(PREFIX.length).split("/") : [];
  const [owner = "", repo = "", runId = ""] = parts;
  if (parts.length !== 3 || !OWNER_PATTERN.test(owner) || !REPO_PATTERN.test(repo) || !RUN_ID.test(runId)) {
    throw new Error(`malformed GitHub build id "${id}": expected github:{owner}/{repo}/{run id}`);
  }
  return { owner, repo, runId };
}
