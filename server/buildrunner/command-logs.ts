// A command build's whole output, page by page, for the console. The build's
// process writes output.log in its directory (command-process.ts); this reads
// it from the file, never through the database, so a build of any size costs
// the console one page per request. Pages are byte windows of a fixed size whose
// edges are moved to just after the next newline (or, in a line longer than
// the look-ahead, to the next character's first byte): page N's end is always
// page N+1's start, so the pages tile the file with no gap, no overlap and no
// split character, and a page's edges never move once the file has grown
// past them. Only the last page grows while the build runs.
import { existsSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { commandBuilds } from "@/db/schema";
import { OUTPUT_LOG } from "./command-files";
import { UnknownBuildError } from "./types";

export const LOG_PAGE_BYTES = 64 * 1024;

export type CommandLogPage =
  | {
      available: true;
      /** 0-based. */
      page: number;
      pages: number;
      /** Byte offsets of this page in the file. */
      start: number;
      end: number;
      /** The file's size when it was read. */
      size: number;
      text: string;
      /** The process may still write: the last page will grow. */
      running: boolean;
    }
  | { available: false; reason: string; running: boolean };

const RUNNING = new Set(["accepted", "running"]);

/** Reads one page of a command build's output; `page` past the end reads the last one. */
export async function readCommandLog(
  db: Db,
  buildId: string,
  page: number | "last",
  pageBytes = LOG_PAGE_BYTES,
): Promise<CommandLogPage> {
  const [row] = await db
    .select({ status: commandBuilds.status, host: commandBuilds.host, workDir: commandBuilds.workDir })
    .from(commandBuilds)
    .where(eq(commandBuilds.id, buildId));
  if (!row) throw new UnknownBuildError(buildId);
  const running = RUNNING.has(row.status);
  const file = path.join(row.workDir, OUTPUT_LOG);
  if (!existsSync(file)) {
    if (row.host !== hostname()) {
      return { available: false, running, reason: `the output is kept on ${row.host}, where the build ran` };
    }
    // Not started yet: an empty log, which the next read may find grown.
    if (row.status === "accepted")
      return { available: true, page: 0, pages: 1, start: 0, end: 0, size: 0, text: "", running };
    return { available: false, running, reason: "the build's output file is gone" };
  }
  const fh = await open(file, "r");
  try {
    return { available: true, running, ...(await readPage(fh, page, pageBytes, running)) };
  } finally {
    await fh.close();
  }
}

async function readPage(fh: FileHandle, requested: number | "last", pageBytes: number, running: boolean) {
  const { size } = await fh.stat();
  const pages = Math.max(1, Math.ceil(size / pageBytes));
  const page = requested === "last" ? pages - 1 : Math.min(requested, pages - 1);
  const lookahead = Math.min(4096, Math.floor(pageBytes / 4));
  const start = page === 0 ? 0 : await boundary(fh, page * pageBytes, size, lookahead);
  let end = page === pages - 1 ? size : await boundary(fh, (page + 1) * pageBytes, size, lookahead);
  const buf = Buffer.alloc(Math.max(0, end - start));
  const { bytesRead } = await fh.read(buf, 0, buf.length, start);
  let bytes = buf.subarray(0, bytesRead);
  end = start + bytesRead;
  // The process may be halfway through writing a character: leave its bytes for the next read.
  if (running && end === size) {
    bytes = bytes.subarray(0, completeUtf8Length(bytes));
    end = start + bytes.length;
  }
  return { page, pages, start, end, size, text: bytes.toString("utf8") };
}

/** The page edge at or after `at`: just past the next newline within `lookahead`, else the next character's start. */
async function boundary(fh: FileHandle, at: number, size: number, lookahead: number): Promise<number> {
  if (at >= size) return size;
  const buf = Buffer.alloc(Math.min(lookahead, size - at));
  const { bytesRead } = await fh.read(buf, 0, buf.length, at);
  const window = buf.subarray(0, bytesRead);
  const nl = window.indexOf(0x0a);
  if (nl >= 0) return at + nl + 1;
  for (let i = 0; i < window.length; i++) if (((window[i] ?? 0) & 0xc0) !== 0x80) return at + i;
  return at + window.length;
}

/** The length of `bytes` without a trailing UTF-8 sequence that is not complete yet. */
function completeUtf8Length(bytes: Buffer): number {
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const b = bytes[bytes.length - back] ?? 0;
    if ((b & 0xc0) === 0x80) continue;
    const need = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
