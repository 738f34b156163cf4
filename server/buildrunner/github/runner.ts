// The GitHub Actions runner: a Sluice build is a workflow run started with
// workflow_dispatch. GitHub holds all the state, so any worker can answer
// status or cancel for any build.
//
// Finding the run a dispatch started: GitHub answers with its id when asked
// (return_run_details, since February 2026). Servers that refuse the
// parameter (older GitHub Enterprise Server) answer 204 with nothing; then the
// run is found by a value unique to the build, passed as an input that the
// workflow puts in its `run-name`, by a bounded search of the workflow's
// recent runs. The same search makes trigger idempotent: under a lock per
// idempotency key, a retried trigger first looks for the run it started.
import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import {
  type BuildID,
  type BuildMetadata,
  type BuildRunner,
  type BuildStatus,
  type Change,
  IDEMPOTENCY_KEY,
  isTerminal,
  UnknownBuildError,
  WAITING_FOR,
} from "@/server/buildrunner/types";
import { GitHubApiError, type GitHubClient, nextLink, type Reply } from "./client";
import { formatRunId, type GitHubRunRef, parseRunId } from "./ids";
import { DEFAULT_ID_INPUT, type InputSource, workflowInputs } from "./inputs";
import { type KeyedLock, LocalLock } from "./lock";
import { mapRunStatus } from "./status";

export interface GitHubWorkflowConfig {
  owner: string;
  repo: string;
  /** The workflow's file name (ci.yml) or numeric id. */
  workflow: string;
  /** Branch or tag whose workflow file runs. */
  ref: string;
  /** Workflow input name → what it receives. */
  inputs?: Record<string, InputSource>;
  /** The input that carries the correlation id; the workflow's run-name must show it. Default sluice_id. */
  idInput?: string;
}

export interface GitHubRunnerOptions {
  client: GitHubClient;
  /** Queue name → workflow. */
  workflows: Record<string, GitHubWorkflowConfig>;
  /** Default: within this process only. The pipeline passes a database lock. */
  lock?: KeyedLock;
  /** Ask for the run's id in the dispatch answer. Default true; false for servers known to refuse it. */
  returnRunDetails?: boolean;
  /** How far back a retried trigger looks for its run, ms. Default 24 h. */
  searchWindowMs?: number;
  /** Pages of 100 runs a search reads at most. Default 3. */
  searchPages?: number;
  /** After a dispatch without run details: how long to look for the run, and how often, ms. Defaults 30,000 and 1,000. */
  findTimeoutMs?: number;
  findIntervalMs?: number;
  /** After a cancel, how long a run may take to stop before it is force-cancelled, ms. Default 60,000. */
  cancelGraceMs?: number;
  /** Job names and URLs are read again at most this often per run while it runs, ms. Default 30,000. */
  jobsRefreshMs?: number;
  warn?: (msg: string, fields: Record<string, string>) => void;
}

const runSchema = z.object({
  id: z.number().int().positive(),
  name: z.string().nullish(),
  display_title: z.string().nullish(),
  status: z.string(),
  conclusion: z.string().nullish(),
  html_url: z.string(),
  run_number: z.number().int().nullish(),
  run_attempt: z.number().int().nullish(),
  event: z.string().nullish(),
  head_sha: z.string().nullish(),
  head_branch: z.string().nullish(),
});
type Run = z.infer<typeof runSchema>;
const runsSchema = z.object({ total_count: z.number().int(), workflow_runs: z.array(runSchema) });
const detailsSchema = z.object({
  workflow_run_id: z.number().int().positive(),
  run_url: z.string().optional(),
  html_url: z.string().optional(),
});
const jobsSchema = z.object({
  total_count: z.number().int(),
  jobs: z.array(z.object({ name: z.string(), status: z.string(), html_url: z.string().nullish() })),
});
type Jobs = z.infer<typeof jobsSchema>;

const MAX_JOBS_SHOWN = 20;
/** A run's created_at is GitHub's clock; look a little further back than ours says. */
const CLOCK_SLACK_MS = 5 * 60_000;

export class GitHubRunner implements BuildRunner {
  readonly kind = "github";
  private readonly lock: KeyedLock;
  private returnRunDetails: boolean;
  private readonly jobsCache = new Map<string, { at: number; jobs: Jobs }>();
  private readonly forceCancels = new Map<string, Promise<void>>();

  constructor(private readonly opts: GitHubRunnerOptions) {
    this.lock = opts.lock ?? new LocalLock();
    this.returnRunDetails = opts.returnRunDetails ?? true;
  }

  private get client() {
    return this.opts.client;
  }

  async trigger(queue: string, base: Change[], head: Change[], metadata: BuildMetadata = {}): Promise<BuildID> {
    const wf = this.opts.workflows[queue];
    if (!wf) throw new Error(`no GitHub workflow is configured for queue "${queue}"`);
    const key = metadata[IDEMPOTENCY_KEY];
    const scope = `${wf.owner}/${wf.repo}/${wf.workflow}`;
    // Derived from the key, so a retry (in any process) looks for the same value; random without one.
    const correlationId = `sluice-${key ? createHash("sha256").update(`${scope}\n${key}`).digest("hex").slice(0, 32) : randomUUID().replaceAll("-", "")}`;
    const inputs = workflowInputs({
      mapping: wf.inputs ?? {},
      idInput: wf.idInput ?? DEFAULT_ID_INPUT,
      correlationId,
      queue,
      base,
      head,
      metadata,
    });
    if (!key) return this.dispatch(wf, inputs, correlationId);
    return this.lock.run(`${scope}\n${key}`, async () => {
      const since = Date.now() - (this.opts.searchWindowMs ?? 24 * 3_600_000);
      const found = await this.findRun(wf, correlationId, since);
      if (found) return { id: formatRunId({ owner: wf.owner, repo: wf.repo, runId: String(found.id) }) };
      return this.dispatch(wf, inputs, correlationId);
    });
  }

  async status(id: BuildID): Promise<{ status: BuildStatus; metadata: BuildMetadata }> {
    const ref = parseRunId(id.id);
    const run = await this.load(ref, id.id);
    const status = mapRunStatus(run.status, run.conclusion);
    const jobs = await this.jobs(ref, run.status === "completed");
    return { status, metadata: metadataOf(run, status, jobs) };
  }

  async cancel(id: BuildID): Promise<void> {
    const ref = parseRunId(id.id);
    const what = `cancel run ${id.id}`;
    const reply = await this.client.request("POST", `${runPath(ref)}/cancel`, what);
    if (reply.status === 404) throw new UnknownBuildError(id.id);
    if (reply.status === 409) {
      // GitHub's answer for a run that can no longer be cancelled: finished is the contract's no-op.
      const run = await this.load(ref, id.id);
      if (run.status === "completed") return;
      throw this.client.httpError(`${what} (run status ${run.status})`, reply);
    }
    if (!reply.ok) throw this.client.httpError(what, reply);
    this.armForceCancel(ref, id.id);
  }

  /** Resolves when every force-cancel this runner has armed has run (or was not needed). */
  async settled(): Promise<void> {
    while (this.forceCancels.size > 0) await Promise.all(this.forceCancels.values());
  }

  private async dispatch(wf: GitHubWorkflowConfig, inputs: Record<string, string>, correlationId: string) {
    const since = Date.now() - CLOCK_SLACK_MS;
    const what = `dispatch ${wf.workflow} in ${wf.owner}/${wf.repo}`;
    const path = `/repos/${wf.owner}/${wf.repo}/actions/workflows/${encodeURIComponent(wf.workflow)}/dispatches`;
    const send = (details: boolean) =>
      this.client.request("POST", path, what, {
        ref: wf.ref,
        inputs,
        ...(details ? { return_run_details: true } : {}),
      });
    let reply: Reply;
    try {
      reply = await send(this.returnRunDetails);
      if (reply.status === 422 && this.returnRunDetails && /return_run_details/.test(this.client.message(reply))) {
        // A server from before the parameter refused it (nothing was started): ask as it understands, from now on.
        this.returnRunDetails = false;
        reply = await send(false);
      }
    } catch (err) {
      // No answer: the run may have started all the same. A rate limit is an answer (nothing started).
      if (!(err instanceof GitHubApiError) || err.status !== undefined) throw err;
      return this.afterAmbiguous(wf, correlationId, since, err);
    }
    if (reply.status === 200 && this.returnRunDetails) {
      const details = this.client.parse(detailsSchema, reply, what);
      const ref = { owner: wf.owner, repo: wf.repo, runId: String(details.workflow_run_id) };
      await this.checkRunName(ref, wf, correlationId);
      return { id: formatRunId(ref) };
    }
    if (reply.status === 204 || reply.status === 200) {
      const run = await this.waitForRun(wf, correlationId, since);
      if (run) return { id: formatRunId({ owner: wf.owner, repo: wf.repo, runId: String(run.id) }) };
      throw new Error(
        `GitHub ${what}: dispatched, but no run with "${correlationId}" in its run name appeared within ${this.findTimeoutMs / 1000} s; the workflow needs a run-name that shows \${{ inputs.${wf.idInput ?? DEFAULT_ID_INPUT} }}`,
      );
    }
    if (reply.status >= 500) return this.afterAmbiguous(wf, correlationId, since, this.client.httpError(what, reply));
    if (reply.status === 404) {
      throw new GitHubApiError(
        `GitHub ${what}: HTTP 404 (no such repository or workflow, or the token cannot see it)`,
        404,
      );
    }
    throw this.client.httpError(what, reply);
  }

  /**
   * A retried trigger finds its run by the run name only: say so when the
   * workflow does not show the correlation id. Never throws, since the run
   * has started and a retry must not start another.
   */
  private async checkRunName(ref: GitHubRunRef, wf: GitHubWorkflowConfig, correlationId: string) {
    try {
      const run = await this.load(ref, formatRunId(ref));
      if (run.display_title?.includes(correlationId)) return;
      this.opts.warn?.(
        "the workflow's run name does not show the correlation id: a retried trigger cannot find its run",
        {
          workflow: `${wf.owner}/${wf.repo}/${wf.workflow}`,
          expected: `run-name containing \${{ inputs.${wf.idInput ?? DEFAULT_ID_INPUT} }}`,
        },
      );
    } catch {
      // Only a check; the status polls will report a run that cannot be read.
    }
  }

  /** A dispatch whose outcome is unknown: the run it may have started, or the original error. */
  private async afterAmbiguous(wf: GitHubWorkflowConfig, correlationId: string, since: number, err: Error) {
    const run = await this.waitForRun(wf, correlationId, since);
    if (run) return { id: formatRunId({ owner: wf.owner, repo: wf.repo, runId: String(run.id) }) };
    throw err;
  }

  private get findTimeoutMs() {
    return this.opts.findTimeoutMs ?? 30_000;
  }

  /** Looks for the run until it appears (GitHub lists a new run after a moment) or the time is up. */
  private async waitForRun(wf: GitHubWorkflowConfig, correlationId: string, since: number) {
    const deadline = Date.now() + this.findTimeoutMs;
    for (;;) {
      const run = await this.findRun(wf, correlationId, since);
      if (run || Date.now() >= deadline) return run;
      await new Promise((r) => setTimeout(r, this.opts.findIntervalMs ?? 1_000));
    }
  }

  /** The oldest dispatched run created since `since` whose title shows the correlation id, reading a bounded number of pages. */
  private async findRun(wf: GitHubWorkflowConfig, correlationId: string, since: number): Promise<Run | undefined> {
    const query = new URLSearchParams({
      event: "workflow_dispatch",
      created: `>=${new Date(since).toISOString().replace(/\.\d{3}Z$/, "Z")}`,
      per_page: "100",
    });
    let next: string | undefined =
      `/repos/${wf.owner}/${wf.repo}/actions/workflows/${encodeURIComponent(wf.workflow)}/runs?${query}`;
    const what = `list runs of ${wf.workflow} in ${wf.owner}/${wf.repo}`;
    let found: Run | undefined;
    for (let page = 0; next && page < (this.opts.searchPages ?? 3); page++) {
      const reply = await this.client.request("GET", next, what);
      if (!reply.ok) throw this.client.httpError(what, reply);
      for (const run of this.client.parse(runsSchema, reply, what).workflow_runs) {
        if (run.display_title?.includes(correlationId) && (!found || run.id < found.id)) found = run;
      }
      // Newest first: the page holding a match holds the oldest ones near it.
      if (found) return found;
      next = nextLink(reply.headers);
    }
    return undefined;
  }

  private async load(ref: GitHubRunRef, id: string): Promise<Run> {
    const what = `get run ${id}`;
    const reply = await this.client.request("GET", runPath(ref), what);
    if (reply.status === 404) throw new UnknownBuildError(id);
    if (!reply.ok) throw this.client.httpError(what, reply);
    return this.client.parse(runSchema, reply, what);
  }

  /** Job names and links: read when the run finishes, and at most every jobsRefreshMs while it runs. */
  private async jobs(ref: GitHubRunRef, finished: boolean): Promise<Jobs | undefined> {
    const cached = this.jobsCache.get(ref.runId);
    if (!finished && cached && Date.now() - cached.at < (this.opts.jobsRefreshMs ?? 30_000)) return cached.jobs;
    const what = `list jobs of run ${ref.runId}`;
    const reply = await this.client.request("GET", `${runPath(ref)}/jobs?per_page=${MAX_JOBS_SHOWN}`, what);
    if (!reply.ok) throw this.client.httpError(what, reply);
    const jobs = this.client.parse(jobsSchema, reply, what);
    this.jobsCache.delete(ref.runId);
    if (!finished) {
      // Runs another worker saw finish stay here: drop the oldest past a bound.
      if (this.jobsCache.size >= 1_000) this.jobsCache.delete(this.jobsCache.keys().next().value ?? "");
      this.jobsCache.set(ref.runId, { at: Date.now(), jobs });
    }
    return jobs;
  }

  /**
   * GitHub's cancel lets `always()` steps run, which can keep a run going for
   * long; after the grace period a run still going gets force-cancel. Armed
   * in this process (a process that stops within the grace period leaves the
   * run to the ordinary cancel).
   */
  private armForceCancel(ref: GitHubRunRef, id: string) {
    if (this.forceCancels.has(id)) return;
    const job = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.forceCancel(ref, id)
          .catch((err: unknown) => this.opts.warn?.("force-cancel failed", { buildId: id, reason: String(err) }))
          .finally(() => {
            this.forceCancels.delete(id);
            resolve();
          });
      }, this.opts.cancelGraceMs ?? 60_000);
      timer.unref();
    });
    this.forceCancels.set(id, job);
  }

  private async forceCancel(ref: GitHubRunRef, id: string) {
    const run = await this.load(ref, id);
    if (run.status === "completed") return;
    const what = `force-cancel run ${id}`;
    const reply = await this.client.request("POST", `${runPath(ref)}/force-cancel`, what);
    if (reply.ok || reply.status === 409) return;
    throw this.client.httpError(what, reply);
  }
}

function runPath(ref: GitHubRunRef): string {
  return `/repos/${ref.owner}/${ref.repo}/actions/runs/${ref.runId}`;
}

function metadataOf(run: Run, status: BuildStatus, jobs: Jobs | undefined): BuildMetadata {
  const m: BuildMetadata = {
    runner: "github",
    runId: String(run.id),
    githubStatus: run.status,
    buildUrl: run.html_url,
  };
  if (run.conclusion) m.githubConclusion = run.conclusion;
  if (run.name) m.workflow = run.name;
  if (run.display_title) m.title = run.display_title;
  if (run.run_number) m.runNumber = String(run.run_number);
  if (run.run_attempt) m.runAttempt = String(run.run_attempt);
  if (run.head_sha) m.headSha = run.head_sha;
  if (run.status === "waiting") {
    m.waiting = "true";
    m[WAITING_FOR] = "an environment's approval";
  }
  if (isTerminal(status) && status !== "succeeded") m.reason = `the workflow run concluded ${run.conclusion}`;
  for (const job of jobs?.jobs.slice(0, MAX_JOBS_SHOWN) ?? []) m[`job: ${job.name}`] = job.html_url ?? job.status;
  if (jobs && jobs.total_count > MAX_JOBS_SHOWN) m.jobsNotShown = String(jobs.total_count - MAX_JOBS_SHOWN);
  return m;
}
