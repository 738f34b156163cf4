// A private MariaDB (or MySQL) for `npm start` on a machine where none runs:
// its data lives in .sluice/mysql inside the project, it listens on 127.0.0.1
// only, on a port of its own, and it stops when `npm start` stops.
//
// Nobody gets in without a password: a fresh data directory lets root in
// without one, so the first start makes a user of Sluice's own
// (`sluice`@`127.0.0.1`, a random password kept in .sluice/mysql.credentials,
// mode 0600), then gives every root account a random password nobody keeps
// and drops anonymous accounts. Anything else on this machine that reaches
// 127.0.0.1 (a build, another user's process) needs that file to get in.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
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
  /** The URL of the `database` on the private server, with Sluice's own user and password. */
  url: string;
  credentials: EmbeddedCredentials;
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
  credentialsFile: string;
}

/** The private server's own account for Sluice. */
export interface EmbeddedCredentials {
  user: string;
  password: string;
}

const APP_USER = "sluice";

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
    credentialsFile: path.join(root, "mysql.credentials"),
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

function readCredentials(p: Paths): EmbeddedCredentials | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(p.credentialsFile, "utf8")) as Partial<EmbeddedCredentials>;
    return typeof c.user === "string" && typeof c.password === "string"
      ? { user: c.user, password: c.password }
      : undefined;
  } catch {
    return undefined;
  }
}

function writeCredentials(p: Paths, c: EmbeddedCredentials): void {
  const tmp = `${p.credentialsFile}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(c)}\n`, { mode: 0o600 });
  // The mode of writeFileSync applies to a new file only; a leftover tmp keeps its own.
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, p.credentialsFile);
}

function urlWith(port: number, database: string, c: EmbeddedCredentials | undefined): string {
  const auth = c ? `${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}` : "root";
  return `mysql://${auth}@127.0.0.1:${port}/${database}`;
}

/**
 * Once per data directory, while root still gets in without a password:
 * makes Sluice's own account, keeps its password in .sluice (0600) before
 * anything else, then locks root out and drops anonymous accounts.
 */
async function secureServer(port: number, p: Paths, log: (m: string) => void): Promise<EmbeddedCredentials> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ host: "127.0.0.1", port, user: "root", connectTimeout: 5_000 });
  } catch (err) {
    throw new Error(
      `the private database in ${p.dataDir} has no ${path.basename(p.credentialsFile)} and root cannot get in without a password (${(err as Error).message}). Stop it and remove ${p.dataDir} to start afresh.`,
    );
  }
  try {
    const creds: EmbeddedCredentials = { user: APP_USER, password: crypto.randomBytes(24).toString("base64url") };
    await conn.query("CREATE USER IF NOT EXISTS ?@'127.0.0.1' IDENTIFIED BY ?", [creds.user, creds.password]);
    await conn.query("ALTER USER ?@'127.0.0.1' IDENTIFIED BY ?", [creds.user, creds.password]);
    await conn.query("GRANT ALL PRIVILEGES ON *.* TO ?@'127.0.0.1' WITH GRANT OPTION", [creds.user]);
    // Kept before root is locked: a crash in between must not leave a server nobody can enter.
    writeCredentials(p, creds);
    const [accounts] = await conn.query<mysql.RowDataPacket[]>(
      "SELECT User AS user, Host AS host FROM mysql.user WHERE User IN ('root', '')",
    );
    for (const a of accounts) {
      if (a.user === "") await conn.query("DROP USER ?@?", [a.user, a.host]);
      else
        await conn.query("ALTER USER ?@? IDENTIFIED BY ?", [
          a.user,
          a.host,
          crypto.randomBytes(24).toString("base64url"),
        ]);
    }
    await conn.query("FLUSH PRIVILEGES");
    log(`the private database has a user of its own (${creds.user}); its password is in ${p.credentialsFile}`);
    return creds;
  } finally {
    await conn.end().catch(() => {});
  }
}

/** The credentials of a running private server: the kept ones, or new ones made now (first start, or a data directory from before). */
async function ensureSecured(port: number, p: Paths, log: (m: string) => void): Promise<EmbeddedCredentials> {
  return readCredentials(p) ?? secureServer(port, p, log);
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until the server answers: with Sluice's credentials once they exist, with password-less root before. */
async function waitUntilReady(port: number, proc: ManagedProcess | undefined, p: Paths): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc && !proc.running()) {
      throw new Error(
        `the private database exited while starting. Its log (${p.logFile}) ends with:\n${tail(p.logFile)}`,
      );
    }
    const probe = await probeDatabaseServer(urlWith(port, "mysql", readCredentials(p)), 2_000);
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

  // One left running by an earlier `npm start` that was killed outright: use it if it answers.
  const oldPid = readNumber(p.pidFile);
  if (oldPid && isAlive(oldPid)) {
    const oldPort = readNumber(p.portFile);
    if (oldPort && (await probeDatabaseServer(urlWith(oldPort, opts.database, readCredentials(p)))).ok) {
      opts.log(`using the private database left running by an earlier run (pid ${oldPid}, port ${oldPort})`);
      const creds = await ensureSecured(oldPort, p, opts.log);
      const stop = stopByPid(oldPid, p);
      return {
        url: urlWith(oldPort, opts.database, creds),
        credentials: creds,
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
  let creds: EmbeddedCredentials;
  try {
    await waitUntilReady(port, proc, p);
    creds = await ensureSecured(port, p, opts.log);
  } catch (err) {
    await proc.stop(10_000);
    throw err;
  }
  return {
    url: urlWith(port, opts.database, creds),
    credentials: creds,
    port,
    pid: proc.child.pid ?? 0,
    async stop() {
      await proc.stop(60_000);
      for (const f of [p.pidFile, p.portFile]) fs.rmSync(f, { force: true });
    },
    killNow: () => proc.killNow(),
  };
}
