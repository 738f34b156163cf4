// What the github runner's tests share: a fake GitHub with one workflow whose
// run-name shows the correlation id, and runners pointed at it.
import { TokenAuth } from "@/server/buildrunner/github/auth";
import { GitHubClient, type GitHubClientOptions } from "@/server/buildrunner/github/client";
import { GitHubRunner, type GitHubRunnerOptions } from "@/server/buildrunner/github/runner";
import type { FakeGitHub } from "./fake-github";

export const TOKEN = "github_pat_11AAAAAAA0123456789abcdefghijklmnopqrstuvwxyz";
export const OWNER = "acme";
export const REPO = "app";
export const FILE = "merge-queue.yml";

/** The workflow's run-name, as written in its YAML (GitHub's expression syntax, not a JS template). */
export const RUN_NAME = ["Sluice $", "{{ inputs.sluice_id }}"].join("");

export function addWorkflow(fake: FakeGitHub, runName = RUN_NAME) {
  fake.addWorkflow(`${OWNER}/${REPO}`, {
    id: 161335,
    file: FILE,
    name: "Merge queue",
    runName,
    inputs: ["sluice_id", "queue", "head", "base"],
  });
}

export function client(fake: FakeGitHub, extra: Partial<GitHubClientOptions> = {}) {
  return new GitHubClient({
    apiUrl: fake.baseUrl,
    auth: new TokenAuth(TOKEN),
    retryDelayMs: () => 10,
    ...extra,
  });
}

export function githubRunner(fake: FakeGitHub, extra: Partial<GitHubRunnerOptions> = {}) {
  return new GitHubRunner({
    client: client(fake),
    workflows: {
      main: {
        owner: OWNER,
        repo: REPO,
        workflow: FILE,
        ref: "main",
        inputs: { queue: "queue", head: "head", base: "base" },
      },
    },
    findIntervalMs: 20,
    findTimeoutMs: 3_000,
    cancelGraceMs: 200,
    ...extra,
  });
}

export const runIdOf = (buildId: string) => Number(buildId.split("/").pop());
