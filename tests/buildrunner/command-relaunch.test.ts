// A worker killed in the middle of launching a command build (after claiming
// the launch, before recording the process) left the build "accepted" until
// the launch timeout failed it with "the build process never started", even
// when its process had started, or finished with exit 0. Found by fault
// scenario 10. Another runner on the host now sees the launcher is dead and
// takes the build over (finished, running) or starts it, never twice; while
// a wrapper holds the build's `started` directory without having written its
// pid, it waits rather than start a second wrapper that would run nothing.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db, NOW_MS } from "@/db/client";
import { commandBuilds } from "@/db/schema";
import { CommandRunner } from "@/server/buildrunner/command";
import { processStartTime } from "@/server/buildrunner/process-info";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";

let tdb: TestDatabase;
let pool: mysql.Pool;
let db: Db;
let workRoot: string;
let countFile: string;
const runners: CommandRunner[] = [];

beforeAll(async () => {
  tdb = await freshDatabase("relaunch");
  pool = mysql.createPool({ uri: tdb.url, connectionLimit: 4 });
  db = createDb(pool);
  workRoot = await mkdtemp(path.join(tmpdir(), "sluice-relaunch-"));
  countFile = path.join(workRoot, "count");
});
// Each test's runners only: a runner left supervising would act on the next test's orphan while it is being set up.
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});
afterAll(async () => {
  await pool.end();
  await tdb.drop();
  await rm(workRoot, { recursive: true, force: true });
});

/** A launcher claim naming a process that has exited: what a SIGKILLed worker leaves. */
async function deadLauncher(): Promise<string> {
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  const pid = child.pid as number;
  const start = processStartTime(pid);
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
  return `${pid}:${start}:${randomUUID()}`;
}

/** An accepted build claimed by a launcher that died. */
async function orphan(): Promise<{ id: string; workDir: string }> {
  const id = `cmd-${randomUUID()}`;
  const workDir = path.join(workRoot, id);
  await db.insert(commandBuilds).values({
    id,
    idempotencyKey: null,
    queue: "counted",
    command: "ignored: the queue's command is used",
    spec: JSON.stringify({ base: [], head: [], metadata: {} }),
    status: "accepted",
    host: hostname(),
    workDir,
    launcher: await deadLauncher(),
    createdAt: NOW_MS,
  });
  return { id, workDir };
}

/** A runner on this host; it inspects builds when asked their status, and every 100 ms once started. */
function runner() {
  const r = new CommandRunner({
    db,
    queues: { counted: { command: `echo run >> "${countFile}"; sleep 0.3` } },
    workRoot,
    superviseIntervalMs: 100,
  });
  runners.push(r);
  return r;
}

function supervisor() {
  const r = runner();
  r.start();
  return r;
}

/** What the build's wrapper does once it holds `started`: writes its pid, runs for a while, writes exit 0. */
async function wrapperAfterStarted(workDir: string) {
  const proc = spawn("/bin/sh", ["-c", "echo $$ > pid; sleep 0.5; echo 0 > exit.tmp && mv exit.tmp exit"], {
    cwd: workDir,
    detached: true,
    stdio: "ignore",
  });
  proc.unref();
  await until(() => readFile(path.join(workDir, "pid"), "utf8").catch(() => ""), "the pid file");
  return proc;
}

const finished = (r: CommandRunner, id: string) =>
  until(
    async () => {
      const s = await r.status({ id });
      return ["succeeded", "failed", "cancelled"].includes(s.status) ? s : undefined;
    },
    `build ${id} to finish`,
    10_000,
  );

const runs = async () => (await readFile(countFile, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);

describe("a build whose launcher died mid-launch", () => {
  it("is started by another runner when it never started", async () => {
    await rm(countFile, { force: true });
    const { id } = await orphan();
    const r = supervisor();
    expect((await finished(r, id)).status).toBe("succeeded");
    expect(await runs()).toEqual(["run"]);
  });

  it("is taken over, not started again, when its process was already running", async () => {
    await rm(countFile, { force: true });
    const { id, workDir } = await orphan();
    // What the wrapper does before the launcher could record it.
    await mkdir(path.join(workDir, "started"), { recursive: true });
    const proc = await wrapperAfterStarted(workDir);
    const r = supervisor();
    const s = await finished(r, id);
    expect(s.status).toBe("succeeded");
    // The pid stays in command_builds (viewers' metadata no longer shows it): the running process was adopted.
    const [row] = await tdb.sql<{ pid: number | null }>("SELECT pid FROM command_builds WHERE id = ?", [id]);
    expect(Number(row?.pid)).toBe(proc.pid);
    expect(await runs()).toEqual([]);
  });

  it("waits, starting nothing, while its wrapper holds `started` and has not written its pid yet", async () => {
    await rm(countFile, { force: true });
    const { id, workDir } = await orphan();
    await mkdir(path.join(workDir, "started"), { recursive: true });
    const r = runner();
    // Each status call inspects the build: still accepted, and no second wrapper started.
    for (let look = 0; look < 3; look++) expect((await r.status({ id })).status).toBe("accepted");
    const [row] = await tdb.sql<{ launcher: string | null; pid: number | null }>(
      "SELECT launcher, pid FROM command_builds WHERE id = ?",
      [id],
    );
    expect(row?.pid ?? null).toBeNull();
    expect(row?.launcher).not.toBeNull();
    // The pid comes: the running process is taken over and its exit recorded.
    const proc = await wrapperAfterStarted(workDir);
    r.start();
    expect((await finished(r, id)).status).toBe("succeeded");
    const [after] = await tdb.sql<{ pid: number | null }>("SELECT pid FROM command_builds WHERE id = ?", [id]);
    expect(Number(after?.pid)).toBe(proc.pid);
    expect(await runs()).toEqual([]);
  });

  it("records the exit status of a process that already finished", async () => {
    const { id, workDir } = await orphan();
    await mkdir(workDir, { recursive: true });
    await writeFile(path.join(workDir, "exit"), "4\n");
    const r = supervisor();
    const s = await finished(r, id);
    expect([s.status, s.metadata.exitCode]).toEqual(["failed", "4"]);
  });
});
