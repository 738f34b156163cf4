// A stand-in for GitHub's REST API on 127.0.0.1, speaking its documented
// wire format for what the github runner uses: workflow dispatch (with and
// without return_run_details, or refusing it like an older GitHub Enterprise
// Server), listing a workflow's runs (filters, per_page/page, Link headers),
// getting a run and its jobs, cancel and force-cancel, a GitHub App's
// installation tokens (the JWT's RS256 signature checked) and rate-limit
// headers. No runner ever runs the workflows: a test moves runs along.
import { createHmac, createPublicKey, type KeyObject, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeWorkflow {
  id: number;
  /** The file name, e.g. ci.yml. */
  file: string;
  name: string;
  /** `run-name` with ${{ inputs.x }} placeholders; unset: the workflow's name, as GitHub does. */
  runName?: string;
  /** Declared inputs: any other is refused with 422, as GitHub does. */
  inputs: string[];
}

export interface FakeRun {
  id: number;
  name: string;
  display_title: string;
  status: string;
  conclusion: string | null;
  html_url: string;
  url: string;
  run_number: number;
  run_attempt: number;
  event: string;
  head_branch: string;
  head_sha: string;
  workflow_id: number;
  created_at: string;
  updated_at: string;
  inputs: Record<string, string>;
  repo: string;
  /** Not GitHub's: when the listing starts to show it (a new run appears after a moment). */
  listedFrom: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** When it arrived, ms since the epoch. */
  at: number;
}

export type Injected = { status: number; headers?: Record<string, string>; body?: unknown };
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

export interface FakeGitHubOptions {
  token: string;
  app?: { appId: string; publicKey: string; installationId: number; tokenTtlMs?: number };
  /** supported: 200 with details; rejected: 422 like an older server; ignored: 204 regardless. */
  runDetails?: "supported" | "rejected" | "ignored";
  /** How long a new run stays out of the listing, ms. */
  listLagMs?: number;
  /** false: cancel answers 202 but the run keeps going (an always() step), until force-cancel. */
  cancelTakesEffect?: boolean;
  /** A fixed port (the e2e server is configured with the URL before the test starts the fake). Default: any free one. */
  port?: number;
}

const LIMIT = 5000;

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly runs: FakeRun[] = [];
  readonly workflows = new Map<string, FakeWorkflow>();
  private readonly injected: Array<{ match: (r: RecordedRequest) => boolean; reply: Injected }> = [];
  private readonly installationTokens = new Map<string, number>();
  private nextRunId = 9_000_000_001;
  private readonly appKey: KeyObject | undefined;

  private constructor(
    private readonly server: Server,
    readonly opts: FakeGitHubOptions,
  ) {
    this.appKey = opts.app ? createPublicKey(opts.app.publicKey) : undefined;
  }

  static async start(opts: FakeGitHubOptions): Promise<FakeGitHub> {
    let fake: FakeGitHub | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req).then((reply) => {
        res.writeHead(reply.status, { ...rateHeaders(), ...reply.headers });
        res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
      });
    });
    fake = new FakeGitHub(server, opts);
    await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  addWorkflow(repo: string, wf: FakeWorkflow): void {
    this.workflows.set(`${repo}/${wf.file}`, wf);
  }

  /** The next request that `match` accepts gets `reply` instead (in the order injected). */
  inject(reply: Injected, match: (r: RecordedRequest) => boolean = () => true): void {
    this.injected.push({ match, reply });
  }

  setRun(id: number, patch: Partial<Pick<FakeRun, "status" | "conclusion">>): void {
    const run = this.runs.find((r) => r.id === id);
    if (!run) throw new Error(`fake GitHub: no run ${id}`);
    Object.assign(run, patch, { updated_at: new Date().toISOString() });
  }

  /** Adds a run Sluice did not start (another trigger of the same workflow). */
  addForeignRun(repo: string, file: string, title: string): FakeRun {
    return this.createRun(repo, this.workflowOf(repo, file), {}, "main", title);
  }

  reset(opts: Partial<FakeGitHubOptions> = {}): void {
    this.requests.length = 0;
    this.runs.length = 0;
    this.injected.length = 0;
    Object.assign(this.opts, opts);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  /** A workflow_run webhook delivery for a run, signed with `secret` as GitHub signs it. */
  webhook(runId: number, action: string, secret: string): { headers: Record<string, string>; body: string } {
    const run = this.runs.find((r) => r.id === runId);
    if (!run) throw new Error(`fake GitHub: no run ${runId}`);
    const [owner = "", name = ""] = run.repo.split("/");
    const { inputs: _i, repo: _r, listedFrom: _l, ...shown } = run;
    const body = JSON.stringify({
      action,
      workflow_run: shown,
      workflow: { id: run.workflow_id, name: run.name },
      repository: { id: 1, name, full_name: run.repo, owner: { login: owner } },
      sender: { login: "octocat" },
    });
    return {
      headers: {
        "x-github-event": "workflow_run",
        "x-github-delivery": randomBytes(16).toString("hex"),
        "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
        "content-type": "application/json",
      },
      body,
    };
  }

  private async handle(req: IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return { status: 400, body: { message: "Problems parsing JSON" } };
    }
    const rec = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: Date.now(),
    };
    this.requests.push(rec);
    const i = this.injected.findIndex((x) => x.match(rec));
    if (i >= 0) {
      const [hit] = this.injected.splice(i, 1);
      if (hit) return hit.reply;
    }
    return this.route(rec, url);
  }

  private route(rec: RecordedRequest, url: URL): Reply {
    const auth = rec.headers.authorization ?? "";
    const app = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(rec.path);
    const install = /^\/repos\/([^/]+\/[^/]+)\/installation$/.exec(rec.path);
    if (app || install) return this.appRoute(auth, rec, app?.[1], install?.[1]);
    if (!this.tokenValid(auth)) return { status: 401, body: { message: "Bad credentials" } };
    const m =
      /^\/repos\/([^/]+\/[^/]+)\/actions\/(?:workflows\/([^/]+)\/(dispatches|runs)|runs\/(\d+)(\/jobs|\/cancel|\/force-cancel)?)$/.exec(
        rec.path,
      );
    if (!m) return notFound();
    const [, repo = "", file, verb, runId, sub] = m;
    if (file !== undefined) {
      const wf = this.workflowOf(repo, decodeURIComponent(file));
      if (!wf) return notFound();
      if (verb === "dispatches" && rec.method === "POST") return this.dispatch(repo, wf, rec.body);
      if (verb === "runs" && rec.method === "GET") return this.list(repo, wf, url);
      return notFound();
    }
    const run = this.runs.find((r) => r.repo === repo && r.id === Number(runId));
    if (!run) return notFound();
    if (sub === undefined && rec.method === "GET") return { status: 200, body: publicRun(run) };
    if (sub === "/jobs" && rec.method === "GET") return this.jobs(run);
    if (sub === "/cancel" && rec.method === "POST") return this.cancel(run, false);
    if (sub === "/force-cancel" && rec.method === "POST") return this.cancel(run, true);
    return notFound();
  }

  private dispatch(repo: string, wf: FakeWorkflow, body: unknown): Reply {
    const input = (body ?? {}) as { ref?: unknown; inputs?: Record<string, unknown>; return_run_details?: unknown };
    const mode = this.opts.runDetails ?? "supported";
    if (mode === "rejected" && "return_run_details" in input) {
      return { status: 422, body: { message: 'Invalid request.\n\n"return_run_details" is not a permitted key.' } };
    }
    if (typeof input.ref !== "string" || !input.ref) return { status: 422, body: { message: "ref is required" } };
    if (input.ref === "missing") return { status: 422, body: { message: `No ref found for: ${input.ref}` } };
    const inputs = Object.fromEntries(Object.entries(input.inputs ?? {}).map(([k, v]) => [k, String(v)]));
    const unexpected = Object.keys(inputs).filter((k) => !wf.inputs.includes(k));
    if (unexpected.length > 0) {
      return { status: 422, body: { message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}` } };
    }
    const run = this.createRun(repo, wf, inputs, input.ref);
    if (mode === "supported" && input.return_run_details === true) {
      return {
        status: 200,
        body: { workflow_run_id: run.id, run_url: run.url, html_url: run.html_url },
      };
    }
    return { status: 204 };
  }

  private list(repo: string, wf: FakeWorkflow, url: URL): Reply {
    const q = url.searchParams;
    const perPage = Math.min(100, Number(q.get("per_page") ?? 30));
    const page = Number(q.get("page") ?? 1);
    const created = /^>=(.+)$/.exec(q.get("created") ?? "")?.[1];
    const now = Date.now();
    const all = this.runs
      .filter((r) => r.repo === repo && r.workflow_id === wf.id && r.listedFrom <= now)
      .filter((r) => !q.get("event") || r.event === q.get("event"))
      .filter((r) => !q.get("status") || r.status === q.get("status") || r.conclusion === q.get("status"))
      .filter((r) => !created || Date.parse(r.created_at) >= Date.parse(created))
      .sort((a, b) => b.id - a.id);
    const pages = Math.max(1, Math.ceil(all.length / perPage));
    const headers: Record<string, string> = {};
    if (page < pages) {
      const next = new URL(`${url.pathname}${url.search}`, this.baseUrl);
      next.searchParams.set("page", String(page + 1));
      const last = new URL(next);
      last.searchParams.set("page", String(pages));
      headers.link = `<${next}>; rel="next", <${last}>; rel="last"`;
    }
    const items = all.slice((page - 1) * perPage, page * perPage).map(publicRun);
    return { status: 200, headers, body: { total_count: all.length, workflow_runs: items } };
  }

  private jobs(run: FakeRun): Reply {
    const jobs = ["build", "test"].map((name, i) => ({
      id: run.id * 10 + i,
      run_id: run.id,
      name,
      status: run.status === "completed" ? "completed" : run.status === "in_progress" ? "in_progress" : "queued",
      conclusion: run.status === "completed" ? run.conclusion : null,
      html_url: `https://github.com/${run.repo}/actions/runs/${run.id}/job/${run.id * 10 + i}`,
    }));
    return { status: 200, body: { total_count: jobs.length, jobs } };
  }

  private cancel(run: FakeRun, force: boolean): Reply {
    if (run.status === "completed") {
      return { status: 409, body: { message: "Cannot cancel a workflow run that is completed." } };
    }
    if (force || this.opts.cancelTakesEffect !== false)
      this.setRun(run.id, { status: "completed", conclusion: "cancelled" });
    return { status: 202, body: {} };
  }

  private appRoute(auth: string, rec: RecordedRequest, installationId?: string, repo?: string): Reply {
    const app = this.opts.app;
    if (!app || !this.jwtValid(auth)) {
      return { status: 401, body: { message: "A JSON web token could not be decoded" } };
    }
    if (repo !== undefined) {
      if (rec.method !== "GET" || !this.workflowRepo(repo)) return notFound();
      return { status: 200, body: { id: app.installationId, app_id: Number(app.appId) } };
    }
    if (rec.method !== "POST" || Number(installationId) !== app.installationId) return notFound();
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    const expiresAt = Date.now() + (app.tokenTtlMs ?? 3_600_000);
    this.installationTokens.set(token, expiresAt);
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z"),
        permissions: { actions: "write" },
      },
    };
  }

  /** Whether the JWT is signed by the App's key, names the App, and is within its (at most 10-minute) life. */
  private jwtValid(auth: string): boolean {
    const [, jwt] = /^Bearer (.+)$/.exec(auth) ?? [];
    const [h, p, s] = jwt?.split(".") ?? [];
    if (!h || !p || !s || !this.appKey || !this.opts.app) return false;
    if (!verify("sha256", Buffer.from(`${h}.${p}`), this.appKey, Buffer.from(s, "base64url"))) return false;
    const header = JSON.parse(Buffer.from(h, "base64url").toString()) as { alg?: string };
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as { iat: number; exp: number; iss: unknown };
    const nowS = Date.now() / 1000;
    return (
      header.alg === "RS256" &&
      String(claims.iss) === this.opts.app.appId &&
      claims.iat <= nowS &&
      claims.exp > nowS &&
      claims.exp - claims.iat <= 600
    );
  }

  private tokenValid(auth: string): boolean {
    const [, token = ""] = /^Bearer (.+)$/.exec(auth) ?? [];
    if (token === this.opts.token) return true;
    return (this.installationTokens.get(token) ?? 0) > Date.now();
  }

  private workflowOf(repo: string, file: string): FakeWorkflow {
    return this.workflows.get(`${repo}/${file}`) as FakeWorkflow;
  }

  private workflowRepo(repo: string): boolean {
    return [...this.workflows.keys()].some((k) => k.startsWith(`${repo}/`));
  }

  private createRun(repo: string, wf: FakeWorkflow, inputs: Record<string, string>, ref: string, title?: string) {
    const id = this.nextRunId++;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const runName = wf.runName?.replace(
      /\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}/g,
      (_m, k: string) => inputs[k] ?? "",
    );
    const run: FakeRun = {
      id,
      name: wf.name,
      display_title: title ?? runName ?? wf.name,
      status: "queued",
      conclusion: null,
      html_url: `https://github.com/${repo}/actions/runs/${id}`,
      url: `${this.baseUrl}/repos/${repo}/actions/runs/${id}`,
      run_number: this.runs.filter((r) => r.workflow_id === wf.id).length + 1,
      run_attempt: 1,
      event: "workflow_dispatch",
      head_branch: ref,
      head_sha: randomBytes(20).toString("hex"),
      workflow_id: wf.id,
      created_at: now,
      updated_at: now,
      inputs,
      repo,
      listedFrom: Date.now() + (this.opts.listLagMs ?? 0),
    };
    this.runs.push(run);
    return run;
  }
}

function publicRun(run: FakeRun) {
  const { inputs: _i, repo: _r, listedFrom: _l, ...shown } = run;
  return shown;
}

function notFound(): Reply {
  return { status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } };
}

function rateHeaders(): Record<string, string> {
  return {
    "content-type": "application/json; charset=utf-8",
    "x-ratelimit-limit": String(LIMIT),
    "x-ratelimit-remaining": String(LIMIT - 1),
    "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
    "x-ratelimit-used": "1",
    "x-ratelimit-resource": "core",
  };
}
