// The runners a process uses, one instance per kind, chosen per queue by the
// validated configuration.
import type { Db } from "../../db/client";
import { BuildkiteRunner } from "../buildrunner/buildkite";
import { type CommandQueueConfig, CommandRunner } from "../buildrunner/command";
import { NoopRunner } from "../buildrunner/noop";
import type { BuildRunner } from "../buildrunner/types";
import type { PipelineConfig, RunnerConfig } from "./config";
import { NoRunnerError } from "./errors";

export class RunnerRegistry {
  readonly command: CommandRunner;
  private readonly noop = new NoopRunner();
  private readonly buildkite: Map<string, BuildkiteRunner> = new Map();

  constructor(
    private readonly config: PipelineConfig,
    db: Db,
  ) {
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
    }
  }

  start() {
    this.command.start();
  }

  stop() {
    return this.command.stop();
  }
}
