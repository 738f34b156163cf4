// A worker process killed with SIGKILL in the middle of a running command
// build: a new worker takes over, the build still reaches a terminal status,
// and it was triggered (and its command run) once.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, requestBuild } from "@/server/pipeline";
import type { PipelineConfig } from "@/server/pipeline/config";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig, verdict } from "./helpers";

let db: TestDatabase;
let config: PipelineConfig;
let p: Pipeline;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await freshDatabase("crash");
  config = await pipelineConfig({
    queues: { slow: { kind: "command", command: 'echo started >> "$SLUICE_BUILD_FILE.runs"; sleep 3; echo built' } },
  });
  p = open(db.url, config);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await p.close();
  await db.drop();
});

async function startWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "tests/fixtures/pipeline-worker.ts", db.url, JSON.stringify(config)],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", () => resolve());
    child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
  });
  return child;
}

describe("worker crash", () => {
  it("finishes a build whose worker was killed mid-run, triggered once", async () => {
    const first = await startWorker();
    const batchId = await requestBuild(p.deps, {
      queue: "slow",
      base: [],
      head: [{ uris: ["github://a/b/pull/1/x"] }],
      requester: "t",
    });
    const running = await until(async () => {
      const b = await p.deps.store.getBuildForBatch(batchId);
      return b?.status === "running" ? b : undefined;
    }, "the build to be running");
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));

    await startWorker();
    const { batch, build } = await verdict(p, batchId, 60_000);
    expect(build.id).toBe(running.id);
    expect(batch.verdict).toBe("succeeded");
    const [n] = await db.sql<{ n: number }>("SELECT COUNT(*) AS n FROM command_builds");
    expect(Number(n?.n)).toBe(1);
    const [cmd] = await db.sql<{ work_dir: string }>("SELECT work_dir FROM command_builds WHERE id = ?", [build.id]);
    const runs = await readFile(path.join(cmd?.work_dir ?? "", "build.json.runs"), "utf8");
    expect(runs.trim().split("\n")).toEqual(["started"]);
  });
});

describe("npm run worker", () => {
  it("runs the pipeline and stops gracefully on SIGTERM, releasing its leases", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/worker.ts"], {
      stdio: ["ignore", "pipe", "ignore"],
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        SLUICE_RUNNERS: JSON.stringify(config.runners),
        SLUICE_BUILD_DIR: config.buildDir,
        SLUICE_POLL_ACCEPTED_MS: "300",
        SLUICE_POLL_RUNNING_MS: "400",
      },
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      lines.on("line", (l) => l.includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
    });
    const batchId = await requestBuild(p.deps, {
      queue: "slow",
      base: [],
      head: [{ uris: ["github://a/b/pull/2/y"] }],
      requester: "t",
    });
    expect((await verdict(p, batchId, 60_000)).batch.verdict).toBe("succeeded");
    const mine = await db.sql<{ instance_id: string }>("SELECT instance_id FROM queue_subscribers WHERE pid = ?", [
      child.pid,
    ]);
    expect(mine).toHaveLength(3);

    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(await db.sql("SELECT * FROM queue_subscribers WHERE pid = ?", [child.pid])).toHaveLength(0);
    const ids = mine.map((m) => m.instance_id);
    expect(await db.sql("SELECT * FROM queue_group_partitions WHERE lease_owner IN (?)", [ids])).toHaveLength(0);
  });
});
