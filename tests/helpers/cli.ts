// Runs the `sluice` command as its bin does (node + tsx), as a child process.
import { execFile } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `stdin` is written then closed, so stdin is never a terminal. */
export function runSluice(env: Record<string, string>, args: string[], stdin = ""): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}
