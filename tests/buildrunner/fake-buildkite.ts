// A stand-in for Buildkite's REST API (v2) on 127.0.0.1, speaking its
// documented wire format for the build endpoints the runner uses: create,
// list (with the meta_data[...] filter), get and cancel. It checks the Bearer
// token, records every request, and lets a test put a build in any state,
// since no agent ever runs the builds.
import { randomUUID } from "node:crypto";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

export type FakeBuildRef = { organization: string; pipeline: string; number: number };

export interface FakeBuild {
  id: string;
  number: number;
  state: string;
  blocked: boolean;
  cancel_reason: string | null;
  url: string;
  web_url: string;
  commit: string;
  branch: string;
  message: string | null;
  env: Record<string, unknown>;
  meta_data: Record<string, string>;
  source: string;
  created_at: string;
  finished_at: string | null;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw text if it was not JSON, or undefined when empty. */
  body: unknown;
}

type Stored = { organization: string; pipeline: string; build: FakeBuild };
type Reply = { status: number; body: unknown };

// Per the docs, only these can be cancelled; the API answers 422 for the rest.
const CANCELABLE = new Set(["scheduled", "running", "failing"]);
const FINISHED = new Set(["passed", "failed", "canceled", "skipped", "not_run", "waiting_failed"]);
const ROUTE = /^\/v2\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds(?:\/([0-9]+)(\/cancel)?)?$/;

export class FakeBuildkite {
  readonly requests: RecordedRequest[] = [];
  private stored: Stored[] = [];
  private readonly lastNumber = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly token: string,
  ) {}

  static async start(token: string): Promise<FakeBuildkite> {
    let fake: FakeBuildkite | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res);
    });
    fake = new FakeBuildkite(server, token);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Forgets all builds and requests; build numbers start again at 1. */
  reset(): void {
    this.requests.length = 0;
    this.stored = [];
    this.lastNumber.clear();
  }

  build(ref: FakeBuildRef): FakeBuild | undefined {
    return this.find(ref.organization, ref.pipeline, ref.number)?.build;
  }

  buildsIn(organization: string, pipeline: string): FakeBuild[] {
    return this.stored.filter((s) => s.organization === organization && s.pipeline === pipeline).map((s) => s.build);
  }

  /** What an agent and the scheduler would do: moves a build to any state. */
  setState(ref: FakeBuildRef, state: string, extra: Partial<Pick<FakeBuild, "blocked" | "cancel_reason">> = {}): void {
    const build = this.build(ref);
    if (!build) throw new Error(`fake Buildkite: no build ${ref.organization}/${ref.pipeline}/${ref.number}`);
    Object.assign(build, { state, ...extra });
    if (FINISHED.has(state)) build.finished_at ??= new Date().toISOString();
  }

  async close(): Promise<void> {
    // fetch keeps connections alive; close() would wait for them.
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const text = await readBody(req);
    const body = parseJson(text);
    this.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    });
    const reply = this.route(req, url, text, body);
    res.writeHead(reply.status, { "Content-Type": "application/json; charset=utf-8" });
    res.end(JSON.stringify(reply.body));
  }

  private route(req: IncomingMessage, url: URL, text: string, body: unknown): Reply {
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return { status: 401, body: { message: "Authentication required. Please supply a valid API Access Token" } };
    }
    const match = ROUTE.exec(url.pathname);
    if (!match) return notFound();
    const [, org = "", pipeline = "", number, cancel] = match.map((m) => (m === undefined ? m : decodeURIComponent(m)));
    const method = req.method ?? "GET";
    if (number === undefined) {
      if (method === "POST") return this.create(org, pipeline, text, body);
      if (method === "GET") return this.list(org, pipeline, url.searchParams);
      return notFound();
    }
    const stored = this.find(org, pipeline, Number(number));
    if (!stored) return { status: 404, body: { message: "No build found" } };
    if (cancel && method === "PUT") return this.cancel(stored.build);
    if (!cancel && method === "GET") return { status: 200, body: stored.build };
    return notFound();
  }

  private create(organization: string, pipeline: string, text: string, body: unknown): Reply {
    if (text && body === text) return { status: 400, body: { message: "Problems parsing JSON" } };
    const input = (body ?? {}) as Record<string, unknown>;
    const errors = ["commit", "branch"]
      .filter((field) => typeof input[field] !== "string" || input[field] === "")
      .map((field) => ({ field, code: "missing_field" }));
    if (errors.length > 0) return { status: 422, body: { message: "Validation Failed", errors } };
    const key = `${organization}/${pipeline}`;
    const number = (this.lastNumber.get(key) ?? 0) + 1;
    this.lastNumber.set(key, number);
    const build: FakeBuild = {
      id: randomUUID(),
      number,
      state: "scheduled",
      blocked: false,
      cancel_reason: null,
      url: `${this.baseUrl}/v2/organizations/${organization}/pipelines/${pipeline}/builds/${number}`,
      web_url: `https://buildkite.com/${organization}/${pipeline}/builds/${number}`,
      commit: input.commit as string,
      branch: input.branch as string,
      message: typeof input.message === "string" ? input.message : null,
      env: isRecord(input.env) ? input.env : {},
      meta_data: Object.fromEntries(
        Object.entries(isRecord(input.meta_data) ? input.meta_data : {}).map(([k, v]) => [k, String(v)]),
      ),
      source: "api",
      created_at: new Date().toISOString(),
      finished_at: null,
    };
    this.stored.push({ organization, pipeline, build });
    return { status: 201, body: build };
  }

  private list(organization: string, pipeline: string, query: URLSearchParams): Reply {
    const filters = [...query.entries()].flatMap(([name, value]) => {
      const [, key] = /^meta_data\[(.+)\]$/.exec(name) ?? [];
      return key === undefined ? [] : [[key, value] as const];
    });
    const builds = this.buildsIn(organization, pipeline)
      .filter((b) => filters.every(([key, value]) => b.meta_data[key] === value))
      .sort((a, b) => b.number - a.number);
    return { status: 200, body: builds };
  }

  private cancel(build: FakeBuild): Reply {
    if (CANCELABLE.has(build.state) && !build.blocked) {
      build.state = "canceled";
      build.finished_at = new Date().toISOString();
      return { status: 200, body: build };
    }
    const message = FINISHED.has(build.state)
      ? "Build can't be canceled because it's already finished"
      : `Build can't be canceled while it is ${build.state}`;
    return { status: 422, body: { message } };
  }

  private find(organization: string, pipeline: string, number: number): Stored | undefined {
    return this.stored.find(
      (s) => s.organization === organization && s.pipeline === pipeline && s.build.number === number,
    );
  }
}

function notFound(): Reply {
  return { status: 404, body: { message: "Not Found" } };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
