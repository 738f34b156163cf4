// The targets of issue 10 ("It must show") that the queue bench measures,
// in the order. Sections fill in what they measured; the run ends
// with the table. A missed target is a FAIL in the table, never an error.
import { printTable } from "./lib";
import { int, QUICK, SETTINGS } from "./queue-common";

const GOALS = {
  process1: "process, 1 process, 10 handlers, 16 partitions ≥ 1,800 msgs/s",
  process2: "process, 2 worker processes ≥ 1 process",
  onePartition: "one partition, 10 handlers, default batchSize ≥ 1,000 msgs/s",
  backlog: `one partition: ${int(SETTINGS.backlogDeep)}-deep drain rate ≥ 0.8 × ${int(SETTINGS.backlogShallow)}-deep`,
  publishSingle: "publish one by one ≥ 0.8 × raw autocommit INSERT",
  publishBatch: "publish 1,000 per call ≥ 0.7 × raw 100-row INSERT rows/s",
  latenessP99: "publishAfter 2 s lateness p99 ≤ 60 ms",
  lateEarly: "publishAfter: none early (DB clock)",
  crossP50: "cross-process latency at 50/s p50 ≤ 60 ms",
  crossP99: "cross-process latency at 50/s p99 ≤ 120 ms",
  idle1: "idle, 1 drained partition ≤ 10 statements/s",
  idleWide: `idle, ${int(SETTINGS.idleWidePartitions)} drained partitions ≤ 10 statements/s`,
} as const;

export type TargetId = keyof typeof GOALS;

const measured = new Map<TargetId, { value: string; pass: boolean; note?: string }>();

/** Records a target's measured value (shown as is) and whether it is met; `note` e.g. "deadline hit". */
export function recordTarget(id: TargetId, value: string, pass: boolean, note?: string) {
  measured.set(id, { value, pass, note });
}

export function printTargets() {
  const rows = (Object.keys(GOALS) as TargetId[]).map((id) => {
    const m = measured.get(id);
    if (!m) return [GOALS[id], "not measured", "—"];
    return [GOALS[id], m.note ? `${m.value} (${m.note})` : m.value, m.pass ? "pass" : "FAIL"];
  });
  printTable(
    `Targets (issue 10, "It must show")${QUICK ? ": QUICK run, counts scaled down, indicative only" : ""}`,
    ["target", "measured", "result"],
    rows,
  );
  const failed = [...measured.values()].filter((m) => !m.pass).length;
  console.log(`   ${measured.size - failed} of ${measured.size} measured targets met, ${failed} FAIL`);
}
