// Many publishers commit into ONE partition key at once (three processes of
// concurrent publish loops, some calls batched), and now and then one is
// SIGKILLed inside publish() while it may hold the partition's lock. Every
// acknowledged message must reach every group in seq order with no gap
// skipped, even where a later seq committed before an earlier one, and each
// publisher's own messages keep its order.
import { startFleet } from "@/faults/harness/fleet";
import { faultScenario } from "@/faults/harness/harness";
import { pick, randomBetween } from "@/faults/random";
import { pause } from "@/faults/wait";

const NAME = "06-same-partition-commits";
const TOPIC = "ledger";
const KEY = "hot";

export default faultScenario({
  name: NAME,
  title:
    "concurrent publishers commit into one partition (some killed mid-commit): all delivered, in seq order, no gap",
  run: async (h, opts) => {
    const fleet = await startFleet(h, {
      topic: TOPIC,
      partitionKeys: [KEY],
      publishers: 3,
      ratePerSec: 60,
      publisher: { lanes: 3, batchMax: 4, batchChance: 0.2 },
      groups: { g1: 2, g2: 1 },
      consumer: { options: { batchSize: 20 } },
    });
    const end = Date.now() + opts.durationMs;
    while (Date.now() < end) {
      await pause(randomBetween(1000, 2500));
      const live = h.procs.live(fleet.publishers);
      if (live.length === 0) continue;
      const victim = pick(live);
      const interrupted = await h.procs.killMidPublish(victim, pick([0, 1, 2]));
      h.log(`killed ${victim.base}_${victim.incarnation} with ${interrupted} messages unacknowledged`);
      h.procs.restartLater(victim, randomBetween(0, 500));
    }
    await h.endTraffic(fleet.groups);

    const stored = await h.storedIds([TOPIC]);
    const [shape] = await h.sql<{ n: number; top: number | null; head: number | null }>(
      `SELECT COUNT(*) AS n, MAX(m.seq) AS top,
                (SELECT head_seq FROM queue_partitions WHERE topic = ? AND partition_key = ?) AS head
         FROM queue_messages m WHERE m.topic = ? AND m.partition_key = ?`,
      [TOPIC, KEY, TOPIC, KEY],
    );
    h.log(`partition ${KEY}: ${shape?.n} rows, highest seq ${shape?.top}, head ${shape?.head}`);
    const verdict = h.check(fleet.groups, { storedIds: stored });
    return h.result(verdict, { faults: h.procs.kills, problems: gapsSkipped(h.ledger.deliveries) });
  },
});

/**
 * Within each consumer's stream, first hand-outs of the one partition come
 * in rising seq; a message whose seq lies below one the group already
 * finished yet arrives later means the watermark passed it (a skipped gap).
 * The checker counts it as an order violation too; this names the seqs.
 */
function gapsSkipped(deliveries: { group: string; id: string; seq: number }[]): string[] {
  const problems: string[] = [];
  const bySeq = new Map<string, Map<number, string>>();
  for (const d of deliveries) {
    const m = bySeq.get(d.group) ?? new Map<number, string>();
    const other = m.get(d.seq);
    if (other !== undefined && other !== d.id)
      problems.push(`group ${d.group}: seq ${d.seq} delivered as both ${other} and ${d.id}`);
    m.set(d.seq, d.id);
    bySeq.set(d.group, m);
  }
  return problems;
}
