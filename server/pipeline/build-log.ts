// A build's output for the console: a command build's whole log, paged, read
// on the web server's host; the CI runners keep theirs, and the console links
// to them (the metadata's buildUrl and job pages).
import { type CommandLogPage, readCommandLog } from "@/server/buildrunner/command-logs";
import { UnknownBuildError } from "@/server/buildrunner/types";
import type { PipelineDeps } from "./deps";

export type BuildLogPage = CommandLogPage;

export async function getBuildLog(d: PipelineDeps, buildId: string, page: number | "last"): Promise<BuildLogPage> {
  const build = await d.store.getBuild(buildId);
  if (!build) throw new UnknownBuildError(buildId);
  if (build.runner !== "command") {
    return { available: false, running: false, reason: `a ${build.runner} build keeps its log with its runner` };
  }
  return readCommandLog(d.store.db, build.id, page);
}
