// builds.log: a command build's whole output, paged, read from the file its
// process writes, on a fresh database with a real pipeline and worker. The
// pages tile the file exactly (no gap, no overlap, no split character), the
// last page grows while the build runs, and a CI build answers that its log
// is kept by its runner.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OUTPUT_LOG } from "@/server/buildrunner/command-files";
import { LOG_PAGE_BYTES, readCommandLog } from "@/server/buildrunner/command-logs";
import { UnknownBuildError } from "@/server/buildrunner/types";
import { type Pipeline, type PipelineWorker, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { appRouter } from "@/server/trpc/router";
import { contextAs, VIEWER } from "@/tests/helpers/actors";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { rejectionOf } from "@/tests/helpers/errors";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig } from "@/tests/pipeline/helpers";

const LINES = 12_000;
let db: TestDatabase;
let p: Pipeline;
let worker: PipelineWorker;

beforeAll(async () => {
  db = await freshDatabase("buildlog");
  p = open(
    db.url,
    await pipelineConfig(
      {
        queues: {
          // 12,000 lines (about 155 KiB, three pages), then waits for the test's go-ahead, then one more
          // line. It gives up waiting after 60 s, so a failed run leaves no process behind.
          long: {
            kind: "command",
            command: `seq -f "line %g é" 1 ${LINES}; i=0; while [ ! -f "$SLUICE_BUILD_FILE.go" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done; echo "the end"`,
          },
          // A line of 3,000 two-byte characters with no newline for 6,000 bytes, then short lines.
          wide: {
            kind: "command",
            command: `awk 'BEGIN { for (i = 0; i < 3000; i++) printf "é"; print "" }'; seq 1 50`,
          },
          instant: { kind: "noop" },
        },
      },
      { accepted: 100, running: 150 },
    ),
  );
  worker = startPipelineWorker(p.deps, { pollIntervalMs: 20, retryBackoffMs: () => 50 });
});
afterAll(async () => {
  await worker?.stop();
  await p?.close();
  await db?.drop();
});

const viewer = () => appRouter.createCaller(contextAs(() => p.deps, VIEWER));

async function startBuild(queue: string): Promise<string> {
  const batchId = await requestBuild(p.deps, {
    queue,
    base: [],
    head: [{ uris: ["github://acme/app/pull/1/abc"] }],
    requester: "t",
  });
  const build = await until(() => p.deps.store.getBuildForBatch(batchId), `the ${queue} build`);
  return build.id;
}

async function workDir(id: string): Promise<string> {
  const [row] = await db.sql<{ work_dir: string }>("SELECT work_dir FROM command_builds WHERE id = ?", [id]);
  if (!row) throw new Error(`no command_builds row for ${id}`);
  return row.work_dir;
}

/** Every page of a build's log, in order, read through `read`. */
async function allPages(read: (page: number) => ReturnType<typeof readCommandLog>) {
  const first = await read(0);
  if (!first.available) throw new Error(first.reason);
  const pages = [first];
  for (let i = 1; i < first.pages; i++) {
    const page = await read(i);
    if (!page.available) throw new Error(page.reason);
    pages.push(page);
  }
  return pages;
}

describe("builds.log", () => {
  it("pages a running build's whole output and follows its last page until the build ends", async () => {
    const id = await startBuild("long");
    const running = await until(async () => {
      const page = await viewer().builds.log({ id, page: "last" });
      return page.available && page.text.includes(`line ${LINES} é\n`) ? page : undefined;
    }, "the first 12,000 lines");
    expect(running.running).toBe(true);
    expect(running.pages).toBe(Math.ceil(running.size / LOG_PAGE_BYTES));
    expect(running.pages).toBeGreaterThanOrEqual(3);
    expect(running.page).toBe(running.pages - 1);

    const pages = await allPages((page) => viewer().builds.log({ id, page }));
    const file = await readFile(path.join(await workDir(id), OUTPUT_LOG), "utf8");
    expect(pages.map((pg) => pg.text).join("")).toBe(file);
    for (const [i, pg] of pages.entries()) {
      expect(pg.page).toBe(i);
      if (i > 0) expect(pg.start).toBe(pages[i - 1]?.end);
      expect(pg.text.endsWith("\n")).toBe(true);
    }
    expect(pages[0]?.text.startsWith("line 1 é\nline 2 é\n")).toBe(true);
    expect(pages[0]?.text).not.toContain(`line ${LINES} é`);
    // Past the end reads the last page.
    const lastPage = pages.at(-1);
    expect(await viewer().builds.log({ id, page: 99 })).toMatchObject({ page: lastPage?.page, start: lastPage?.start });

    await writeFile(path.join(await workDir(id), "build.json.go"), "");
    const ended = await until(async () => {
      const page = await viewer().builds.log({ id, page: "last" });
      return page.available && !page.running ? page : undefined;
    }, "the build to end");
    expect(ended.text.endsWith(`line ${LINES} é\nthe end\n`)).toBe(true);
    expect(ended.start).toBe(lastPage?.start);
  });

  it("never splits a character, even in a line longer than the look-ahead", async () => {
    const id = await startBuild("wide");
    await until(async () => (await p.deps.store.getBuild(id))?.status === "succeeded", "the wide build to succeed");
    const file = await readFile(path.join(await workDir(id), OUTPUT_LOG));
    const pages = await allPages((page) => readCommandLog(p.deps.store.db, id, page, 1024));
    expect(pages.length).toBe(Math.ceil(file.length / 1024));
    expect(Buffer.concat(pages.map((pg) => Buffer.from(pg.text, "utf8")))).toEqual(file);
    for (const pg of pages) expect(pg.text).not.toContain("\uFFFD");
  });

  it("says where the log is for a CI build, a build run on another host, and refuses bad input", async () => {
    const noop = await startBuild("instant");
    expect(await viewer().builds.log({ id: noop, page: 0 })).toEqual({
      available: false,
      running: false,
      reason: "a noop build keeps its log with its runner",
    });

    const elsewhere = "cmd-on-another-host";
    // What a build started by a worker on another host leaves in command_builds.
    await db.sql(
      `INSERT INTO command_builds (id, queue, command, spec, status, host, work_dir, created_at)
       VALUES (?, 'long', 'true', '{}', 'succeeded', 'another-host.example', ?, 0)`,
      [elsewhere, "/nonexistent/sluice/builds/cmd-on-another-host"],
    );
    expect(existsSync("/nonexistent/sluice/builds/cmd-on-another-host")).toBe(false);
    expect(await readCommandLog(p.deps.store.db, elsewhere, "last")).toEqual({
      available: false,
      running: false,
      reason: "the output is kept on another-host.example, where the build ran",
    });
    await expect(readCommandLog(p.deps.store.db, "cmd-nobody", 0)).rejects.toBeInstanceOf(UnknownBuildError);

    expect((await rejectionOf(viewer().builds.log({ id: "no-such-build", page: 0 }), TRPCError)).code).toBe(
      "NOT_FOUND",
    );
    for (const page of [-1, 1.5, "first"]) {
      const err = await rejectionOf(viewer().builds.log({ id: noop, page: page as number }), TRPCError);
      expect(err.code).toBe("BAD_REQUEST");
    }
  });
});
