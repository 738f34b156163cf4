import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/db/client";
import { CommandRunner } from "@/server/buildrunner/command";
import { isSameProcessAlive } from "@/server/buildrunner/process-info";
import { type BuildStatus, IDEMPOTENCY_KEY } from "@/server/buildrunner/types";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";

let tdb: TestDatabase;
let pool: mysql.Pool;
let db: Db;
let workRoot: string;
const runners: CommandRunner[] = [];

const queues = {
  quick: { command: 'echo "building $SLUICE_QUEUE"; echo "$SLUICE_HEAD" > head.json; sleep 1.5; echo done' },
  fails: { command: "echo about to fail >&2; exit 3" },
  long: { command: "sleep 60" },
  counted: { command: 'echo run >> "$COUNT_FILE"; sleep 0.5' },
  envprobe: {
    // Prints each variable or "none"; fails unless PATH, HOME and the build's own id are there.
    command:
      "for v in DATABASE_URL BUILDKITE_API_TOKEN BUILDKITE_WEBHOOK_TOKEN SLUICE_TEST_SECRET SLUICE_TEST_PASSED SET_HERE SLUICE_QUEUE;" +
      ' do echo "$v=$(printenv "$v" || echo none)"; done; test -n "$PATH" && test -n "$HOME" && test -n "$SLUICE_BUILD_ID"',
    passEnv: ["SLUICE_TEST_PASSED"],
    env: { SET_HERE: "given" },
  },
};

/** What command_builds keeps of a build that the metadata no longer shows. */
async function stored(id: string): Promise<{ workDir: string; pid: number }> {
  const [row] = await tdb.sql<{ work_dir: string; pid: number }>(
    "SELECT work_dir, pid FROM command_builds WHERE id = ?",
    [id],
  );
  if (!row) throw new Error(`no command_builds row for ${id}`);
  return { workDir: row.work_dir, pid: Number(row.pid) };
}

function runner(extra: Partial<ConstructorParameters<typeof CommandRunner>[0]> = {}) {
  const r = new CommandRunner({ db, queues, workRoot, superviseIntervalMs: 100, cancelGraceMs: 500, ...extra });
  runners.push(r);
  return r;
}

beforeAll(async () => {
  tdb = await freshDatabase("cmd");
  pool = mysql.createPool({ uri: tdb.url, connectionLimit: 4 });
  db = createDb(pool);
  workRoot = await mkdtemp(path.join(tmpdir(), "sluice-cmd-"));
});
afterAll(async () => {
  for (const r of runners) await r.stop();
  await pool.end();
  await tdb.drop();
  await rm(workRoot, { recursive: true, force: true });
});

async function watch(r: CommandRunner, id: string, timeoutMs = 20_000) {
  const seen: BuildStatus[] = [];
  const final = await until(
    async () => {
      const s = await r.status({ id });
      if (seen.at(-1) !== s.status) seen.push(s.status);
      return ["succeeded", "failed", "cancelled"].includes(s.status) ? s : undefined;
    },
    `build ${id} to finish`,
    timeoutMs,
    50,
  );
  return { seen, final };
}

describe("command runner", () => {
  it("runs the queue's command as a process: accepted, running, succeeded", async () => {
    const r = runner();
    const head = [{ uris: ["github://o/r/pull/1/abc"] }];
    const { id } = await r.trigger("quick", [], head, { requester: "t" });
    expect(id).toMatch(/^cmd-/);
    const first = await r.status({ id });
    expect(["accepted", "running"]).toContain(first.status);
    const { seen, final } = await watch(r, id);
    expect(seen).toContain("running");
    expect(seen.at(-1)).toBe("succeeded");
    expect(final.metadata.exitCode).toBe("0");
    expect(final.metadata.outputTail).toContain("building quick");
    const written = JSON.parse(await readFile(path.join((await stored(id)).workDir, "head.json"), "utf8"));
    expect(written).toEqual(head);
  });

  it("fails on a non-zero exit with the code and the output's tail", async () => {
    const r = runner();
    const { id } = await r.trigger("fails", [], []);
    const { final } = await watch(r, id);
    expect(final.status).toBe("failed");
    expect(final.metadata.exitCode).toBe("3");
    expect(final.metadata.outputTail).toContain("about to fail");
    expect(final.metadata.reason).toBe("exited with code 3");
  });

  it("cancels a running build and stops its process", async () => {
    const r = runner();
    const { id } = await r.trigger("long", [], []);
    await until(async () => (await r.status({ id })).status === "running", "the build to run");
    const { pid } = await stored(id);
    expect(isSameProcessAlive(pid, null)).toBe(true);
    await r.cancel({ id });
    const { final } = await watch(r, id);
    expect(final.status).toBe("cancelled");
    await until(() => !isSameProcessAlive(pid, null), "the process to be gone", 5_000);
    await r.cancel({ id }); // terminal: a no-op
    expect((await r.status({ id })).status).toBe("cancelled");
  });

  it("starts one process per idempotency key", async () => {
    const countFile = path.join(workRoot, "count.txt");
    const r = runner({ queues: { ...queues, counted: { ...queues.counted, env: { COUNT_FILE: countFile } } } });
    const meta = { [IDEMPOTENCY_KEY]: "batch-42" };
    const [a, b] = await Promise.all([r.trigger("counted", [], [], meta), r.trigger("counted", [], [], meta)]);
    const c = await r.trigger("counted", [], [], meta);
    expect(a.id).toBe(b.id);
    expect(c.id).toBe(a.id);
    await watch(r, a.id);
    expect((await readFile(countFile, "utf8")).trim().split("\n")).toEqual(["run"]);
  });

  it("answers from another runner instance after the first one stopped (a restart)", async () => {
    const first = runner();
    const { id } = await first.trigger("quick", [], []);
    await until(async () => (await first.status({ id })).status === "running", "the build to run");
    await first.stop();
    const second = runner();
    const { final } = await watch(second, id);
    expect(final.status).toBe("succeeded");
  });

  it("fails a build whose process vanished without an exit status", async () => {
    const r = runner();
    const { id } = await r.trigger("long", [], []);
    await until(async () => (await r.status({ id })).status === "running", "the build to run");
    const { pid } = await stored(id);
    process.kill(-pid, "SIGKILL");
    const { final } = await watch(r, id);
    expect(final.status).toBe("failed");
    expect(final.metadata.reason).toMatch(/ended without an exit status/);
  });

  it("fails a build whose host stopped checking on it", async () => {
    const r = runner({ staleAfterMs: 200 });
    const { id } = await r.trigger("long", [], []);
    await until(async () => (await r.status({ id })).status === "running", "the build to run");
    const { pid } = await stored(id);
    await tdb.sql("UPDATE command_builds SET host = 'elsewhere', checked_at = 0 WHERE id = ?", [id]);
    const s = await r.status({ id });
    expect(s.status).toBe("failed");
    expect(s.metadata.reason).toMatch(/no worker on host elsewhere/);
    process.kill(-pid, "SIGKILL");
  });

  it("gives a build none of the worker's secrets: only the allow-list, what the queue passes, and its own variables", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: tdb.url,
      BUILDKITE_API_TOKEN: "bk-api-secret",
      BUILDKITE_WEBHOOK_TOKEN: "bk-hook-secret",
      SLUICE_TEST_SECRET: "not-for-builds",
      SLUICE_TEST_PASSED: "passed-on-purpose",
    });
    try {
      const r = runner();
      const { id } = await r.trigger("envprobe", [], []);
      const { final } = await watch(r, id);
      expect(final.status).toBe("succeeded");
      expect(final.metadata.outputTail?.trim().split("\n")).toEqual([
        "DATABASE_URL=none",
        "BUILDKITE_API_TOKEN=none",
        "BUILDKITE_WEBHOOK_TOKEN=none",
        "SLUICE_TEST_SECRET=none",
        "SLUICE_TEST_PASSED=passed-on-purpose",
        "SET_HERE=given",
        "SLUICE_QUEUE=envprobe",
      ]);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });

  it("shows viewers no server paths or pids in a build's metadata", async () => {
    const r = runner();
    const { id } = await r.trigger("quick", [], []);
    await until(async () => (await r.status({ id })).status === "running", "the build to run");
    const running = await r.status({ id });
    const { final } = await watch(r, id);
    for (const meta of [running.metadata, final.metadata]) {
      expect(Object.keys(meta).sort()).not.toContain("pid");
      expect(Object.keys(meta).sort()).not.toContain("workDir");
      expect(JSON.stringify(meta)).not.toContain(workRoot);
    }
  });

  it("refuses an unknown build and an unconfigured queue", async () => {
    const r = runner();
    await expect(r.status({ id: "cmd-nope" })).rejects.toThrow(/unknown build cmd-nope/);
    await expect(r.trigger("nowhere", [], [])).rejects.toThrow(/no command is configured for queue "nowhere"/);
  });
});
