// Processes and CPU on this host (Linux /proc): CPU time of the workers, the
// database server and the host, and the build processes a run left behind.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { statFields } from "@/server/buildrunner/process-info";

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process, seconds. */
export function processCpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  if (!f) return undefined;
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}

/** The whole host: busy and total CPU time, seconds, summed over CPUs. */
export function hostCpu(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

function numericDirs(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((n) => /^[0-9]+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/** The database server's pid when it runs on this host (a local MariaDB). */
export function findDatabaseServerPid(): number | undefined {
  for (const pid of numericDirs("/proc")) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      if (comm === "mariadbd" || comm === "mysqld") return pid;
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

/** Build processes of this run: their environment names a build file in the bench's build directory. */
export function buildProcessGroups(buildDir: string): { processes: number; groups: Set<number> } {
  const marker = `SLUICE_BUILD_FILE=${buildDir}${path.sep}`;
  const groups = new Set<number>();
  let processes = 0;
  for (const pid of numericDirs("/proc")) {
    if (pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(marker)) continue;
    } catch {
      continue;
    }
    const f = statFields(pid);
    if (!f || f[0] === "Z") continue;
    processes++;
    const pgid = Number(f[2]);
    if (pgid > 1) groups.add(pgid);
  }
  return { processes, groups };
}
