// How the e2e setup ends a process it started: SIGTERM first, so it shuts
// down as it would in production (settles, hands back its leases), and
// SIGKILL only when that takes longer than `timeoutMs`.
import type { ChildProcess } from "node:child_process";

export function stopProcess(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
