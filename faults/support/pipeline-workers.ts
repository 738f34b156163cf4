// Pipeline worker processes for the kill scenarios: the real worker
// (tests/fixtures/pipeline-worker.ts) started with `node --import tsx`, so a
// SIGKILL reaches the worker itself and not a wrapper.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import type { PipelineConfig } from "../../server/pipeline/config";

const FIXTURE = path.join(__dirname, "..", "..", "tests", "fixtures", "pipeline-worker.ts");
const READY_TIMEOUT_MS = 30_000;

export class PipelineWorkers {
  private readonly live = new Set<ChildProcess>();

  constructor(
    private readonly databaseUrl: string,
    private readonly config: PipelineConfig,
  ) {}

  get running(): ChildProcess[] {
    return [...this.live];
  }

  /** Starts one worker and resolves once it says it is ready. */
  async start(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, this.databaseUrl, JSON.stringify(this.config)], {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: path.join(__dirname, "..", ".."),
    });
    this.live.add(child);
    // The last of its log, to say why it died if it dies before it is ready.
    let stderr = "";
    child.stderr?.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-1_000);
    });
    child.once("exit", () => this.live.delete(child));
    // Keep reading stdout after "ready": a full pipe would stall the worker.
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("a pipeline worker did not get ready")), READY_TIMEOUT_MS);
      lines.on("line", (l) => {
        if (l.includes("ready")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`a pipeline worker exited before it was ready (${code ?? signal}): ${stderr.trim()}`));
      });
    });
    return child;
  }

  /** SIGKILLs one worker and waits until it is gone. */
  async kill(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.running.map((c) => this.kill(c)));
  }
}
