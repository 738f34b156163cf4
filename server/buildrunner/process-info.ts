// Linux process facts the command runner needs to tell a live build process
// from a dead one, or from a later process that reused its pid.
import { readFileSync } from "node:fs";

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19];
  } catch {
    return undefined;
  }
}

/** Alive, not a zombie, and the same process that was started (same start time). */
export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest[0] === "Z") return false;
    return startTime === null || rest[19] === startTime;
  } catch {
    return false;
  }
}

/** Signals a whole process group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
