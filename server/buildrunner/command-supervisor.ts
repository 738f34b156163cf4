// Supervision of the command builds on this host: every interval, one pass
// over the host's unfinished builds (launches, exits, cancels, timeouts), and
// one write that tells other hosts they are still watched. Build processes
// do not depend on it: stopped, another worker on the host picks them up.
import type { CommandLifecycle } from "./command-lifecycle";
import type { CommandBuildRows } from "./command-rows";

export class CommandSupervisor {
  private timer?: NodeJS.Timeout;
  private supervising?: Promise<void>;

  constructor(
    private readonly rows: CommandBuildRows,
    private readonly lifecycle: CommandLifecycle,
    private readonly host: string,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.supervising ??= this.pass()
        .catch(() => {})
        .finally(() => {
          this.supervising = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.supervising;
  }

  /** One pass over this host's unfinished builds. */
  private async pass() {
    const rows = await this.rows.unfinishedOn(this.host);
    const alive: string[] = [];
    for (const row of rows) if (await this.lifecycle.inspect(row)) alive.push(row.id);
    if (alive.length > 0) await this.rows.markChecked(alive);
  }
}
