// The runners a process uses, one instance per kind, chosen per queue by the
// validated configuration.
import type { Pool } from "mysql2/promise";
import type { Db } from "@/db/client";
import { BuildkiteRunner } from "@/server/buildrunner/buildkite";
import { CommandRunner } from "@/server/buildrunner/command";
import type { CommandQueueConfig } from "@/server/buildrunner/command-options";
import { GitHubAppAuth, TokenAuth } from "@/server/buildrunner/github/auth";
import { DEFAULT_API_URL, type GitHubAuth, GitHubClient } from "@/server/buildrunner/github/client";
import { type KeyedLock, LocalLock, MysqlLock } from "@/server/buildrunner/github/lock";
import { GitHubRunner } from "@/server/buildrunner/github/runner";
import { NoopRunner } from "@/server/buildrunner/noop";
import type { BuildRunner } from "@/server/buildrunner/types";
import type { Logger } from "@/server/log";
import type { PipelineConfig, RunnerConfig } from "./config";
import { NoRunnerError } from "./errors";

export class RunnerRegistry {
  readonly command: CommandRunner;
  private readonly noop = new NoopRunner();
  private readonly buildkite: Map<string, BuildkiteRunner> = new Map();
  private readonly github: Map<string, GitHubRunner> = new Map();
  /** One per App installation, so every queue on it shares one cached token. */
  private readonly githubApps: Map<string, GitHubAppAuth> = new Map();
  private readonly githubLock: KeyedLock;
  private readonly log: Logger | undefined;

  constructor(
    private readonly config: PipelineConfig,
    db: Db,
    opts: { log?: Logger; pool?: Pool } = {},
  ) {
    this.log = opts.log;
    // Across every worker on this database: two deliveries of one batch never dispatch twice.
    this.githubLock = opts.pool ? new MysqlLock(opts.pool) : new LocalLock();
    const commandQueues: Record<string, CommandQueueConfig> = {};
    for (const [queue, rc] of Object.entries(config.runners.queues)) {
      if (rc.kind === "command") commandQueues[queue] = rc;
    }
    this.command = new CommandRunner({ db, queues: commandQueues, workRoot: config.buildDir });
  }

  /** The runner configured for a queue; an error naming the queue when there is none. */
  forQueue(queue: string): BuildRunner {
    const rc = this.config.runners.queues[queue] ?? this.config.runners.default;
    if (!rc) throw new NoRunnerError(queue, `no runner is configured for queue "${queue}" and there is no default`);
    return this.instance(queue, rc);
  }

  private instance(queue: string, rc: RunnerConfig): BuildRunner {
    switch (rc.kind) {
      case "noop":
        return this.noop;
      case "command":
        if (!this.config.runners.queues[queue]) {
          throw new NoRunnerError(queue, `a command runner must be configured per queue; "${queue}" has none`);
        }
        return this.command;
      case "buildkite": {
        const key = JSON.stringify(rc);
        let r = this.buildkite.get(key);
        if (!r) {
          if (!this.config.buildkiteToken) throw new Error("BUILDKITE_API_TOKEN is required by a buildkite runner");
          r = new BuildkiteRunner({
            apiBaseUrl: rc.apiBaseUrl,
            token: this.config.buildkiteToken,
            organization: rc.organization,
            pipelines: { [queue]: { pipeline: rc.pipeline, branch: rc.branch, commit: rc.commit } },
          });
          this.buildkite.set(key, r);
        }
        return r;
      }
      case "github": {
        const key = JSON.stringify(rc);
        let r = this.github.get(key);
        if (!r) {
          const settings = this.config.github;
          r = new GitHubRunner({
            client: new GitHubClient({ apiUrl: rc.apiUrl, auth: this.githubAuth(rc) }),
            workflows: { [queue]: rc },
            lock: this.githubLock,
            returnRunDetails: rc.returnRunDetails,
            cancelGraceMs: settings?.cancelGraceMs,
            findTimeoutMs: settings?.findTimeoutMs,
            warn: (msg, fields) => this.log?.warn(msg, { ...fields, queue }),
          });
          this.github.set(key, r);
        }
        return r;
      }
    }
  }

  private githubAuth(rc: Extract<RunnerConfig, { kind: "github" }>): GitHubAuth {
    const settings = this.config.github;
    const kind = rc.auth ?? (settings?.app ? "app" : "token");
    if (kind === "token") {
      if (!settings?.token) throw new Error("GITHUB_TOKEN is required by a github runner with token auth");
      return new TokenAuth(settings.token);
    }
    const app = settings?.app;
    if (!app) throw new Error("GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY are required by a github runner with app auth");
    const installationId = rc.installationId ?? app.installationId;
    const apiUrl = rc.apiUrl ?? DEFAULT_API_URL;
    const key = JSON.stringify([apiUrl, installationId ?? `${rc.owner}/${rc.repo}`]);
    let auth = this.githubApps.get(key);
    if (!auth) {
      auth = new GitHubAppAuth({ ...app, installationId, owner: rc.owner, repo: rc.repo, apiUrl });
      this.githubApps.set(key, auth);
    }
    return auth;
  }

  start() {
    this.command.start();
  }

  stop() {
    return this.command.stop();
  }
}
