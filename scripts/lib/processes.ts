// Child processes that die with their parent. Each child runs in a process
// group of its own (so stopping it stops whatever it started), and, where
// util-linux's setpriv exists, with a parent-death signal: if the parent is
// killed outright (SIGKILL), the kernel sends the child SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import readline from "node:readline";

const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => fs.existsSync(p));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Settles when the process has exited. */
  exited: Promise<Exit>;
  running(): boolean;
  /** SIGTERM to the process group, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<Exit>;
  /** Last resort from a synchronous 'exit' handler. */
  killNow(): void;
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Where output goes: prefixed lines on the parent's stdout/stderr (default), or a file descriptor. */
  output?: "prefix" | number;
}

export function startProcess(name: string, command: string, args: string[], opts: StartOptions): ManagedProcess {
  const [cmd, argv] = SETPRIV ? [SETPRIV, ["--pdeathsig", "SIGTERM", "--", command, ...args]] : [command, args];
  const out = opts.output ?? "prefix";
  const child = spawn(cmd, argv, {
    cwd: opts.cwd,
    env: opts.env,
    detached: true, // its own process group: a terminal's Ctrl-C reaches only us, and we stop children in order
    stdio: out === "prefix" ? ["ignore", "pipe", "pipe"] : ["ignore", out, out],
  });
  if (out === "prefix") {
    const tag = `[${name}]`;
    if (child.stdout) readline.createInterface({ input: child.stdout }).on("line", (l) => console.log(`${tag} ${l}`));
    if (child.stderr) readline.createInterface({ input: child.stderr }).on("line", (l) => console.error(`${tag} ${l}`));
  }
  let done = false;
  const exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.on("error", (err) => {
      console.error(`[${name}] could not start ${command}: ${err.message}`);
      done = true;
      resolve({ code: 127, signal: null });
    });
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  };

  return {
    name,
    child,
    exited,
    running: () => !done,
    async stop(graceMs = 15_000) {
      if (done) return exited;
      signalGroup("SIGTERM");
      const timer = setTimeout(() => {
        console.error(`[${name}] did not stop within ${graceMs / 1000} s; killing it`);
        signalGroup("SIGKILL");
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    killNow: () => signalGroup("SIGKILL"),
  };
}

/** True if a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
