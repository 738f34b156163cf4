// The cleanup, on success, error or Ctrl-C: workers stopped, every build
// process killed, the database dropped and the build directory removed.
import { rm } from "node:fs/promises";
import { signalGroup } from "@/server/buildrunner/process-info";
import { query, sleep } from "./lib";
import { int } from "./pipeline-numbers";
import { buildProcessGroups } from "./pipeline-procs";
import { problems, state } from "./pipeline-state";
import { stopWorker } from "./pipeline-workers";

let cleaning: Promise<void> | undefined;

export function cleanup(): Promise<void> {
  cleaning ??= cleanupInner();
  return cleaning;
}

async function step(what: string, fn: () => Promise<string | undefined>) {
  try {
    const said = await fn();
    if (said) console.log(`  ${said}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`  cleanup: ${what} failed: ${message}`);
    problems.push(`cleanup: ${what} failed: ${message}`);
  }
}

async function cleanupInner() {
  console.log("\nCleanup");
  state.captureStop = true;
  await step("stopping the workers", async () => {
    if (state.workers.length === 0) return undefined;
    await Promise.all(state.workers.map(stopWorker));
    const times = state.workers.map((w) => (w.stopMs === undefined ? "already gone" : `${int(w.stopMs)} ms`));
    return `workers stopped (SIGTERM → exit: ${times.join(", ")})`;
  });
  const buildDir = state.buildDir;
  await step("killing the build processes", async () => {
    const groups = new Set<number>();
    if (state.db) {
      try {
        const rows = await query<{ pid: number }>(state.db.raw, "SELECT pid FROM command_builds WHERE pid IS NOT NULL");
        for (const r of rows) groups.add(Number(r.pid));
      } catch {
        // The /proc scan below still finds them.
      }
    }
    const fromDb = groups.size;
    if (buildDir) for (const g of buildProcessGroups(buildDir).groups) groups.add(g);
    let killed = 0;
    for (const g of groups) if (signalGroup(g, "SIGKILL")) killed++;
    if (!buildDir) return `killed ${killed} build process groups`;
    let left = buildProcessGroups(buildDir);
    for (let i = 0; i < 50 && left.processes > 0; i++) {
      for (const g of left.groups) signalGroup(g, "SIGKILL");
      await sleep(100);
      left = buildProcessGroups(buildDir);
    }
    if (left.processes > 0) throw new Error(`${left.processes} build processes are still alive`);
    return `killed ${int(killed)} build process groups (${int(fromDb)} pids in command_builds); none left`;
  });
  await step("closing the bench's pipeline", async () => {
    await state.pipeline?.close();
    return undefined;
  });
  await step("dropping the database", async () => {
    if (!state.db) return undefined;
    await state.db.drop();
    return `dropped ${state.db.name}`;
  });
  await step("removing the build directory", async () => {
    if (!buildDir) return undefined;
    await rm(buildDir, { recursive: true, force: true });
    return `removed ${buildDir}`;
  });
}
