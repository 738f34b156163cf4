// Starts the e2e run's test consumer (fixtures/consumer.ts) as a process of
// its own, after global-setup has migrated the database, and stops it again
// before global-teardown drops the database (Playwright runs the function a
// global setup returns as its teardown, before the globalTeardown files).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, openSync, rmSync } from "node:fs";
import path from "node:path";
import { e2eDatabaseUrl, e2eQueueDir } from "./env";
import { stopProcess } from "./stop-process";

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

function waitForReady(child: ChildProcess, logPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`the e2e consumer did not start within ${READY_TIMEOUT_MS} ms; see ${logPath}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready\n")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the e2e consumer exited with ${code} before it was ready; see ${logPath}`));
    });
  });
}

export default async function queueConsumerSetup() {
  const dir = e2eQueueDir();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const logPath = path.join(dir, "consumer.log");
  const log = openSync(logPath, "a");
  const child = spawn(process.execPath, ["--import", "tsx", "e2e/fixtures/consumer.ts"], {
    env: { ...process.env, DATABASE_URL: e2eDatabaseUrl(), SLUICE_E2E_QUEUE_DIR: dir },
    stdio: ["ignore", "pipe", log],
  });
  try {
    await waitForReady(child, logPath);
  } catch (err) {
    await stopProcess(child, STOP_TIMEOUT_MS);
    throw err;
  }
  return async () => {
    await stopProcess(child, STOP_TIMEOUT_MS);
    rmSync(dir, { recursive: true, force: true });
  };
}
