// A private MariaDB (or MySQL) for `npm start` on a machine where none runs:
// its data lives in .sluice/mysql inside the project, it listens on 127.0.0.1
// only, on a port of its own, and it stops when `npm start` stops.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, isPortFree, probeDatabaseServer } from "./net";
import { isAlive, type ManagedProcess, startProcess } from "./processes";

const SEARCH_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/mysql/bin"];
const READY_TIMEOUT_MS = 90_000;

function findBinary(names: string[], extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter(Boolean), ...SEARCH_DIRS, ...extraDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The database server binary on this machine (mariadbd or mysqld), if any. */
export function findServerBinary(): string | undefined {
  return findBinary(["mariadbd", "mysqld"]);
}

export interface EmbeddedDatabase {
  /** The URL of the `database` on the private server. */
  url: string;
  port: number;
  pid: number;
  /** Stops the server (clean shutdown); a no-op for one that is already gone. */
  stop(): Promise<void>;
  killNow(): void;
}

interface Paths {
  root: string;
  dataDir: string;
  socket: string;
  pidFile: string;
  portFile: string;
  logFile: string;
}

function pathsFor(projectRoot: string): Paths {
  const root = path.join(projectRoot, ".sluice");
  let socket = path.join(root, "mysql.sock");
  // A Unix socket path is limited to 107 bytes; a deep checkout gets one in the temp folder.
  if (Buffer.byteLength(socket) > 100) {
    const hash = crypto.createHash("sha256").update(projectRoot).digest("hex").slice(0, 12);
    socket = path.join(os.tmpdir(), `sluice-${hash}.sock`);
  }
  return {
    root,
    dataDir: path.join(root, "mysql"),
    socket,
    pidFile: path.join(root, "mysql.pid"),
    portFile: path.join(root, "mysql.port"),
    logFile: path.join(root, "mysql.log"),
  };
}

const asRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function tail(file: string, lines = 25): string {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Creates the data directory once; a failed attempt leaves nothing half-made behind. */
function initialise(server: string, p: Paths, log: (m: string) => void): void {
  if (fs.existsSync(path.join(p.dataDir, "mysql"))) return;
  const version = execFileSync(server, ["--version"], { encoding: "utf8" });
  const staging = `${p.dataDir}.init`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  const user = asRoot() ? ["--user=root"] : [];
  let command: string;
  let args: string[];
  if (/mariadb/i.test(version)) {
    const installer = findBinary(["mariadb-install-db", "mysql_install_db"], [path.dirname(server)]);
    if (!installer) throw new Error(`found ${server} but not mariadb-install-db to initialise its data directory`);
    command = installer;
    args = [
      "--no-defaults",
      `--datadir=${staging}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...user,
    ];
  } else {
    command = server;
    args = ["--no-defaults", "--initialize-insecure", `--datadir=${staging}`, ...user];
  }
  log(`initialising a private database in ${path.relative(process.cwd(), p.dataDir) || p.dataDir} (once)`);
  try {
    execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    fs.rmSync(staging, { recursive: true, force: true });
    throw new Error(`${path.basename(command)} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
  fs.rmSync(p.dataDir, { recursive: true, force: true });
  fs.renameSync(staging, p.dataDir);
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(url: string, proc: ManagedProcess | undefined, p: Paths): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc && !proc.running()) {
      throw new Error(
        `the private database exited while starting. Its log (${p.logFile}) ends with:\n${tail(p.logFile)}`,
      );
    }
    const probe = await probeDatabaseServer(url, 2_000);
    if (probe.ok) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the private database did not answer within ${READY_TIMEOUT_MS / 1000} s. Its log (${p.logFile}) ends with:\n${tail(p.logFile)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function stopByPid(pid: number, p: Paths): () => Promise<void> {
  return async () => {
    if (!isAlive(pid)) return;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 60_000;
    while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
    for (const f of [p.pidFile, p.portFile]) fs.rmSync(f, { force: true });
  };
}

/**
 * Starts (or, after a crash of `npm start`, adopts) the private database and
 * waits until it answers. `database` is the name put in the returned URL.
 */
export async function startEmbeddedDatabase(opts: {
  projectRoot: string;
  server: string;
  preferredPort: number;
  database: string;
  log: (message: string) => void;
}): Promise<EmbeddedDatabase> {
  const p = pathsFor(opts.projectRoot);
  fs.mkdirSync(p.root, { recursive: true });
  const urlFor = (port: number) => `mysql://root@127.0.0.1:${port}/${opts.database}`;

  // One left running by an earlier `npm start` that was killed outright: use it if it answers.
  const oldPid = readNumber(p.pidFile);
  if (oldPid && isAlive(oldPid)) {
    const oldPort = readNumber(p.portFile);
    if (oldPort && (await probeDatabaseServer(urlFor(oldPort))).ok) {
      opts.log(`using the private database left running by an earlier run (pid ${oldPid}, port ${oldPort})`);
      const stop = stopByPid(oldPid, p);
      return {
        url: urlFor(oldPort),
        port: oldPort,
        pid: oldPid,
        stop,
        killNow: () => {
          try {
            process.kill(oldPid, "SIGKILL");
          } catch {
            // gone
          }
        },
      };
    }
    throw new Error(
      `a private database from an earlier run (pid ${oldPid}) still holds ${p.dataDir} but does not answer. Stop it (kill ${oldPid}) and try again.`,
    );
  }
  for (const f of [p.pidFile, p.portFile, p.socket]) fs.rmSync(f, { force: true });

  initialise(opts.server, p, opts.log);

  const port = (await isPortFree("127.0.0.1", opts.preferredPort)) ? opts.preferredPort : await freePort();
  const logFd = fs.openSync(p.logFile, "a");
  const args = [
    "--no-defaults",
    `--datadir=${p.dataDir}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--socket=${p.socket}`,
    `--pid-file=${p.pidFile}`,
    ...(asRoot() ? ["--user=root"] : []),
  ];
  opts.log(`starting a private database: ${path.basename(opts.server)} on 127.0.0.1:${port} (log: ${p.logFile})`);
  const proc = startProcess("db", opts.server, args, { cwd: opts.projectRoot, env: process.env, output: logFd });
  fs.closeSync(logFd);
  fs.writeFileSync(p.portFile, `${port}\n`);
  const url = urlFor(port);
  try {
    await waitUntilReady(url, proc, p);
  } catch (err) {
    await proc.stop(10_000);
    throw err;
  }
  return {
    url,
    port,
    pid: proc.child.pid ?? 0,
    async stop() {
      await proc.stop(60_000);
      for (const f of [p.pidFile, p.portFile]) fs.rmSync(f, { force: true });
    },
    killNow: () => proc.killNow(),
  };
}
