// Linux process facts the command runner needs to tell a live build process
// from a dead one, or from a later process that reused its pid.
import { readFileSync } from "node:fs";

/** The fields of /proc/<pid>/stat after the command name (field 3 is index 0); undefined when there is no such process. */
export function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot; undefined when there is no such process. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Alive, not a zombie, and the same process that was started (same start time). */
export function isSameProcessAlive(pid: number, startTime: string | null): boolean {
  const fields = statFields(pid);
  if (!fields || fields[0] === "Z") return false;
  return startTime === null || fields[19] === startTime;
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
