// The measurement window: status calls, poll intervals, samples, CPU and
// statement counts from its start to its end.
import type { BenchDatabase } from "./lib";
import { query } from "./lib";
import { statusSnapshot } from "./pipeline-builds";
import { type IntervalResult, intervalsInWindow, type PollCapture } from "./pipeline-capture";
import { StatementSampler } from "./pipeline-db-activity";
import { findDatabaseServerPid } from "./pipeline-procs";
import { type Backlog, type CpuSnapshot, cpuSnapshot, globalStatus, type Sample, takeSample } from "./pipeline-samples";
import { PROFILE_EVERY_MS, type Settings, sampleEveryMs } from "./pipeline-settings";
import { sleepChecked } from "./pipeline-state";

export interface Measurement {
  windowMs: number;
  perMinute: number[];
  statusCalls: number;
  notRunningAtEnd: Record<string, number>;
  intervals: IntervalResult;
  samples: Sample[];
  startCalls: number;
  startHostBusy: number;
  endBacklog: Backlog;
  maxReady: number;
  maxOldestReadyMs: number;
  cpuStart: CpuSnapshot;
  cpuEnd: CpuSnapshot;
  statementsStart: Record<string, number>;
  statementsEnd: Record<string, number>;
  benchScans: number;
  profile: StatementSampler;
  otherDatabases: string[];
  dbPid: number | undefined;
}

export async function measure(s: Settings, db: BenchDatabase, capture: PollCapture): Promise<Measurement> {
  const dbPid = findDatabaseServerPid();
  const profile = new StatementSampler(db.raw, db.name, PROFILE_EVERY_MS);
  const statementsStart = await globalStatus(db.raw);
  const cpuStart = cpuSnapshot(dbPid);
  const start = await statusSnapshot(db.raw);
  profile.start();
  const scansAtStart = capture.scans;
  const samples: Sample[] = [];
  const every = sampleEveryMs(s);
  const windowMs = s.seconds * 1000;
  const began = performance.now();
  for (let next = every; next < windowMs; next += every) {
    await sleepChecked(began + next - performance.now());
    if (capture.failure) throw capture.failure;
    samples.push(await takeSample(db.raw, start.atMs));
  }
  await sleepChecked(began + windowMs - performance.now());
  await profile.stop();
  const end = await statusSnapshot(db.raw);
  const cpuEnd = cpuSnapshot(dbPid);
  const statementsEnd = await globalStatus(db.raw);
  samples.push(await takeSample(db.raw, start.atMs));
  const endBacklog = (samples.at(-1) as Sample).backlog;
  // Rows published up to the end are read before the comparison.
  await capture.scan();
  await capture.scan();

  const actualMs = end.atMs - start.atMs;
  const perMinute: number[] = [];
  let statusCalls = 0;
  const notRunningAtEnd: Record<string, number> = {};
  for (const [id, b] of end.byId) {
    const before = start.byId.get(id)?.calls ?? 0;
    statusCalls += b.calls - before;
    perMinute.push(((b.calls - before) * 60_000) / actualMs);
    if (b.status !== "running") notRunningAtEnd[b.status] = (notRunningAtEnd[b.status] ?? 0) + 1;
  }
  const connections = await query<{ db: string | null; n: number }>(
    db.raw,
    "SELECT db, COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE command <> 'Daemon' GROUP BY db",
  );
  return {
    windowMs: actualMs,
    perMinute,
    statusCalls,
    notRunningAtEnd,
    intervals: intervalsInWindow(capture, [...end.byId.keys()], start.atMs, end.atMs),
    samples,
    startCalls: [...start.byId.values()].reduce((n, b) => n + b.calls, 0),
    startHostBusy: cpuStart.host.busy,
    endBacklog,
    maxReady: Math.max(...samples.map((x) => x.backlog.ready)),
    maxOldestReadyMs: Math.max(...samples.map((x) => x.backlog.oldestReadyMs)),
    cpuStart,
    cpuEnd,
    statementsStart,
    statementsEnd,
    benchScans: capture.scans - scansAtStart,
    profile,
    otherDatabases: connections.filter((c) => c.db !== db.name && c.db !== null).map((c) => `${c.db} (${c.n})`),
    dbPid,
  };
}
