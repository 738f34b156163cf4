// A command build's directory: what the runner writes before the process
// starts (build.json), and what the process leaves for any runner on the
// host to read (its pid, its output, its exit code), even after the worker
// that started it is gone.
import { existsSync } from "node:fs";
import { mkdir, open, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/** The file the build's wrapper sends stdout and stderr to. */
export const OUTPUT_LOG = "output.log";

/** How much of the output's end a finished build keeps in its row. */
const OUTPUT_TAIL_BYTES = 4096;

/** The paths of a build's files; `started` is a directory, made by the one wrapper that runs the command. */
export function buildFiles(workDir: string) {
  return {
    spec: path.join(workDir, "build.json"),
    log: path.join(workDir, OUTPUT_LOG),
    exit: path.join(workDir, "exit"),
    started: path.join(workDir, "started"),
    pid: path.join(workDir, "pid"),
  };
}

/** Makes the build's directory and writes build.json into it; returns its path. */
export async function writeBuildSpec(workDir: string, spec: unknown): Promise<string> {
  await mkdir(workDir, { recursive: true });
  const file = buildFiles(workDir).spec;
  await writeFile(file, JSON.stringify(spec, null, 2));
  return file;
}

/** The exit code the wrapper wrote; undefined while the process has not ended (or ended without writing it). */
export function readExitCode(workDir: string): Promise<number | undefined> {
  return readNumber(buildFiles(workDir).exit);
}

/** The wrapper's pid, written before it runs the command. */
export function readPid(workDir: string): Promise<number | undefined> {
  return readNumber(buildFiles(workDir).pid);
}

/** A wrapper took the build's `started` directory: it runs the command, or did. */
export function wrapperStarted(workDir: string): boolean {
  return existsSync(buildFiles(workDir).started);
}

async function readNumber(file: string): Promise<number | undefined> {
  if (!existsSync(file)) return undefined;
  const text = (await readFile(file, "utf8")).trim();
  const n = Number.parseInt(text, 10);
  return Number.isNaN(n) ? undefined : n;
}

/** The end of the build's output; empty when there is none to read. */
export async function readOutputTail(workDir: string): Promise<string> {
  try {
    const fh = await open(buildFiles(workDir).log, "r");
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - OUTPUT_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return "";
  }
}
