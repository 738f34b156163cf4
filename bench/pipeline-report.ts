// The bench's report: one numbered table per measured aspect, then the verdict.
import os from "node:os";
import { type BenchDatabase, printTable, query } from "./lib";
import type { DeadlockWatcher } from "./pipeline-db-activity";
import type { Measurement } from "./pipeline-measure";
import { fix, int, pct, secs, summarize } from "./pipeline-numbers";
import { STATUS_VARIABLES } from "./pipeline-samples";
import {
  cadencePerMin,
  captureEveryMs,
  PROFILE_EVERY_MS,
  QUEUE_NAME,
  type Settings,
  sampleEveryMs,
  sleepSeconds,
  warmUpMs,
} from "./pipeline-settings";
import { notes, problems, state, workerLogs } from "./pipeline-state";

export function printHeader(
  s: Settings,
  db: BenchDatabase,
  mariadb: string,
  buildDir: string,
  server: string,
  trips: string,
) {
  console.log("Sluice pipeline benchmark: buildsignal polling of concurrent running builds");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(`  node        ${process.version}`);
  console.log(`  database    ${mariadb}, ${db.name} (fresh, dropped at the end)`);
  console.log(`              ${server}`);
  console.log(`              before the run: ${trips}`);
  console.log(
    `  host        ${os.hostname()}, ${os.cpus().length} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(`  builds      ${int(s.builds)} on queue "${QUEUE_NAME}": command runner, \`sleep ${sleepSeconds(s)}\``);
  console.log(`              (one process group per build, in ${buildDir}, killed at the end)`);
  console.log(
    `  polling     running ${int(s.runningMs)} ms → ${fix(cadencePerMin(s))} status calls per build per minute;`,
  );
  console.log(`              accepted ${int(s.acceptedMs)} ms`);
  console.log(`  workers     ${s.workers} × scripts/worker.ts on this host (worker defaults: concurrency 8 per topic,`);
  console.log("              pollIntervalMs 100, maintenance with collectGarbage every 30 s)");
  console.log(`  window      ${s.seconds} s, after every build runs and a ${secs(warmUpMs(s))} warm-up;`);
  console.log(
    `              buildsignal rows captured every ${captureEveryMs(s)} ms, samples every ${secs(sampleEveryMs(s))}`,
  );
}

export function printCadence(s: Settings, m: Measurement) {
  const st = summarize(m.perMinute);
  const want = cadencePerMin(s);
  printTable(
    `1. Status calls per build per minute (builds.status_calls over ${secs(m.windowMs)}; configured ${fix(want)})`,
    ["", "builds", "min", "p50", "mean", "max", "mean vs configured"],
    [
      [
        "status calls / min",
        int(st.count),
        fix(st.min),
        fix(st.p50),
        fix(st.mean),
        fix(st.max),
        pct((st.mean - want) / want),
      ],
    ],
  );
  const off = m.perMinute.filter((v) => Math.abs(v - want) / want > 0.1).length;
  console.log(`   builds more than 10% off the configured cadence: ${int(off)} of ${int(st.count)}`);
}

export function printIntervals(s: Settings, m: Measurement) {
  const r = m.intervals;
  const iv = summarize(r.intervals);
  const late = summarize(r.intervals.map((v) => v - s.runningMs));
  printTable(
    "2. Poll intervals (consecutive buildsignal published_at of a build, both in the window)",
    ["", "intervals", "min", "p50", "p90", "p99", "max", "mean"],
    [
      ["interval ms", int(iv.count), int(iv.min), int(iv.p50), int(iv.p90), int(iv.p99), int(iv.max), int(iv.mean)],
      [
        `lateness ms (− ${int(s.runningMs)})`,
        int(late.count),
        int(late.min),
        int(late.p50),
        int(late.p90),
        int(late.p99),
        int(late.max),
        int(late.mean),
      ],
    ],
  );
  console.log(
    `   poll rows published in the window: ${int(r.published)} (status calls counted: ${int(m.statusCalls)})`,
  );
  if (r.buildsWithoutInterval > 0)
    console.log(`   builds with fewer than 2 polls in the window: ${int(r.buildsWithoutInterval)}`);
  if (r.gaps > 0) {
    console.log(`   generation gaps (rows the capture missed, left out): ${int(r.gaps)}`);
    notes.push(`the capture missed ${r.gaps} poll rows (generation gaps); those intervals are left out`);
  }
}

export function printThroughput(s: Settings, m: Measurement) {
  const cores = os.cpus().length;
  let prev = { tMs: 0, calls: m.startCalls, hostBusy: m.startHostBusy };
  const rows: string[][] = [];
  for (const x of m.samples) {
    const dt = (x.tMs - prev.tMs) / 1000;
    const rate = (x.calls - prev.calls) / dt;
    const busy = (x.hostBusy - prev.hostBusy) / dt / cores;
    rows.push([
      fix(x.tMs / 1000, 0),
      fix(rate),
      int(x.backlog.ready),
      int(x.backlog.inFlight),
      int(x.backlog.scheduled),
      int(x.backlog.oldestReadyMs),
      int(x.speculate.ready),
      int(x.speculate.oldestReadyMs),
      `${fix(busy * 100, 0)}%`,
    ]);
    prev = { tMs: x.tMs, calls: x.calls, hostBusy: x.hostBusy };
  }
  printTable(
    "3. Throughput and backlogs of group pipeline: buildsignal, then speculate (sampled; rates since the previous sample)",
    [
      "t s",
      "status calls/s",
      "ready",
      "in flight",
      "scheduled",
      "oldest ready ms",
      "speculate ready",
      "its oldest ms",
      "host CPU",
    ],
    rows,
  );
  const needed = (s.builds * 1000) / s.runningMs;
  const achieved = m.statusCalls / (m.windowMs / 1000);
  console.log(
    `   status calls: ${int(m.statusCalls)} in ${secs(m.windowMs)} = ${fix(achieved)}/s; the configured cadence asks for ${fix(needed)}/s (${pct((achieved - needed) / needed)})`,
  );
  const b = m.endBacklog;
  console.log(
    `   backlog at the end: ${int(b.ready)} ready but undelivered (oldest visible for ${int(b.oldestReadyMs)} ms), ${int(b.inFlight)} in flight, ${int(b.scheduled)} scheduled`,
  );
  console.log(`   largest backlog sampled: ${int(m.maxReady)} ready; oldest ready for ${int(m.maxOldestReadyMs)} ms`);
}

export function printCpu(m: Measurement) {
  const seconds = (m.cpuEnd.atMs - m.cpuStart.atMs) / 1000;
  const cores = os.cpus().length;
  const row = (label: string, a: number | undefined, b: number | undefined): string[] => {
    if (a === undefined || b === undefined) return [label, "–", "–"];
    return [label, fix(b - a), `${fix(((b - a) / seconds) * 100, 0)}%`];
  };
  const rows = state.workers.map((w, i) =>
    row(`worker ${w.index} (pid ${w.pid})`, m.cpuStart.workers[i], m.cpuEnd.workers[i]),
  );
  rows.push(
    row(
      m.dbPid === undefined ? "database server (not on this host)" : `mariadbd (pid ${m.dbPid})`,
      m.cpuStart.database,
      m.cpuEnd.database,
    ),
  );
  rows.push(row("this bench (captures, samples)", m.cpuStart.bench, m.cpuEnd.bench));
  const hostBusy = m.cpuEnd.host.busy - m.cpuStart.host.busy;
  const listed = rows.reduce((n, r) => n + (Number(r[1]) || 0), 0);
  const others = Math.max(0, hostBusy - listed);
  rows.push(["everything else on the host", fix(others), `${fix((others / seconds) * 100, 0)}%`]);
  rows.push(["host, all processes", fix(hostBusy), `${fix((hostBusy / seconds) * 100, 0)}%`]);
  printTable(
    `4. CPU during the window (${fix(seconds)} s wall; ${cores} CPUs = ${cores * 100}% at most)`,
    ["", "CPU s", "% of one CPU"],
    rows,
  );
  const busy = hostBusy / seconds / cores;
  console.log(`   host CPU busy: ${fix(busy * 100, 0)}% of ${cores} CPUs${busy > 0.9 ? " (saturated)" : ""}`);
  if (others / seconds > 0.2) {
    notes.push(
      `other processes on the host used ${fix((others / seconds) * 100, 0)}% of one CPU during the window: the bench competed for the CPUs`,
    );
  }
}

export function printStatements(m: Measurement) {
  const calls = Math.max(1, m.statusCalls);
  const rows = STATUS_VARIABLES.map((v) => {
    const d = (m.statementsEnd[v] ?? 0) - (m.statementsStart[v] ?? 0);
    return [v, int(d), fix(d / (m.windowMs / 1000), 0), fix(d / calls)];
  });
  printTable(
    "5. Statements during the window (SHOW GLOBAL STATUS: the whole server, all clients)",
    ["", "total", "per s", "per status call"],
    rows,
  );
  console.log(`   includes this bench's own reads (${int(m.benchScans)} capture scans plus a few samples)`);
  if (m.otherDatabases.length > 0) {
    console.log(`   other databases with connections at the end: ${m.otherDatabases.join(", ")}`);
    notes.push("other clients were connected to the server; the statement counts include their work");
  }
}

export function printProfile(m: Measurement) {
  const p = m.profile;
  const seen = [...p.kinds.values()].reduce((a, b) => a + b, 0);
  const rows = [...p.kinds.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([k, n]) => [k, int(n), `${fix((n / seen) * 100)}%`, fix(n / Math.max(1, p.samples), 2)]);
  printTable(
    `6. What the database executes for this bench (PROCESSLIST every ${PROFILE_EVERY_MS} ms, ${int(p.samples)} samples; top 15)`,
    ["statement", "seen", "share", "avg running"],
    rows,
  );
  console.log(
    `   samples with nothing running: ${int(p.idleSamples)} of ${int(p.samples)}; a statement is seen in proportion to its duration`,
  );
  if (p.failure) notes.push(`the PROCESSLIST sampler stopped early: ${String(p.failure)}`);
}

export function printDeadlocks(w: DeadlockWatcher) {
  const rows = [...w.pairs.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k, int(n)]);
  if (rows.length === 0) {
    console.log("\n8. Deadlocks in this database (SHOW ENGINE INNODB STATUS once a second): none seen");
    return;
  }
  printTable(
    "8. Deadlocks in this database (SHOW ENGINE INNODB STATUS once a second: it keeps only the latest, so kinds, not counts)",
    ["statements of the two transactions", "seen"],
    rows,
  );
}

export function printWorkerLogs() {
  const entries = [...workerLogs.counts.entries()].sort((a, b) => b[1] - a[1]);
  const rows = entries.map(([k, n]) => [k.length > 110 ? `${k.slice(0, 107)}...` : k, int(n)]);
  if (workerLogs.unparsed.length > 0) rows.push(["(lines that are not JSON logs)", int(workerLogs.unparsed.length)]);
  printTable("7. Worker log lines (stderr, whole run)", ["level: message", "lines"], rows);
  for (const l of workerLogs.unparsed.slice(0, 5)) console.log(`   ${l}`);
  for (const [k, n] of entries) {
    if (k.startsWith("error:")) problems.push(`workers logged ${n} × ${k}`);
  }
}

export function printVerdict(s: Settings, m: Measurement) {
  const want = cadencePerMin(s);
  const mean = summarize(m.perMinute).mean;
  const off = (mean - want) / want;
  const within = Math.abs(off) <= 0.1;
  console.log(
    `\nVerdict: the achieved cadence, ${fix(mean)} status calls per build per minute (mean), is ${
      within ? "within" : "NOT within"
    } 10% of the configured ${fix(want)} (${pct(off)}).`,
  );
}

/** What was dead-lettered and why. */
export async function printDeadLetters(db: BenchDatabase) {
  const rows = await query<{ topic: string; reason: string; n: number; first: number; last: number }>(
    db.raw,
    `SELECT topic, LEFT(failure_reason, 90) AS reason, COUNT(*) AS n,
            MIN(failed_at) - (SELECT MIN(published_at) FROM queue_messages) AS first,
            MAX(failed_at) - (SELECT MIN(published_at) FROM queue_messages) AS last
     FROM queue_messages WHERE topic LIKE '%\\_dlq' GROUP BY topic, LEFT(failure_reason, 90)`,
  );
  printTable(
    "9. Dead-lettered messages (failed_at: seconds after the first message of the run)",
    ["topic", "messages", "failed_at s", "reason (start)"],
    rows.map((r) => [
      r.topic,
      int(Number(r.n)),
      `${fix(Number(r.first) / 1000)}–${fix(Number(r.last) / 1000)}`,
      r.reason,
    ]),
  );
}
