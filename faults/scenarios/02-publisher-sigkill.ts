// Publishers are SIGKILLed mid-publish (single messages and batches) and
// restarted: an acknowledged publish is never lost; an interrupted one may or
// may not exist (all of its batch or none), and never twice.
import { partitionKeys, startFleet } from "@/faults/harness/fleet";
import { faultScenario } from "@/faults/harness/harness";
import { pick, randomBetween } from "@/faults/random";
import { pause } from "@/faults/wait";

const NAME = "02-publisher-sigkill";
const TOPIC = "invoices";

export default faultScenario({
  name: NAME,
  title: "publishers SIGKILLed mid-publish: acked publishes never lost, interrupted ones stored once or not at all",
  run: async (h, opts) => {
    const fleet = await startFleet(h, {
      topic: TOPIC,
      partitionKeys: partitionKeys(6),
      publishers: 3,
      ratePerSec: 60,
      publisher: { batchMax: 6, batchChance: 0.4 },
      groups: { g1: 2, g2: 1 },
    });
    const end = Date.now() + opts.durationMs;
    let midPublish = 0;
    const killOne = async (waitForAttempt: boolean, delayMs: number) => {
      const live = h.procs.live(fleet.publishers);
      if (live.length === 0) return;
      const victim = pick(live);
      const interrupted = waitForAttempt ? await h.procs.killMidPublish(victim, delayMs) : await h.procs.kill(victim);
      if (interrupted > 0) midPublish++;
      h.log(`killed ${victim.base}_${victim.incarnation} with ${interrupted} messages unacknowledged`);
      h.procs.restartLater(victim, randomBetween(0, 500));
    };
    while (Date.now() < end) {
      await pause(randomBetween(300, 1500));
      // Half the kills wait for an attempt line, so they land inside publish().
      await killOne(Math.random() < 0.5, pick([0, 0, 1, 2, 3]));
    }
    // A kill that waits for an attempt line still has to beat a publish of one round trip (a
    // millisecond or two): in a short run none may have. A few more, each as soon as a line
    // comes, until one has: the run must show an interrupted publish.
    for (let extra = 0; midPublish === 0 && extra < 40; extra++) {
      await pause(100);
      await killOne(true, 0);
    }
    await h.endTraffic(fleet.groups);

    // Read before anything could collect garbage: nothing in this run does.
    const stored = await h.storedIds([TOPIC]);
    const problems: string[] = [];
    const twice = await h.sql<{ message_id: string; n: number }>(
      `SELECT message_id, COUNT(*) AS n FROM queue_messages WHERE topic = ?
         GROUP BY partition_key, message_id HAVING COUNT(*) > 1 LIMIT 5`,
      [TOPIC],
    );
    if (twice.length > 0)
      problems.push(`messages stored more than once: ${twice.map((r) => `${r.message_id} ×${r.n}`).join(", ")}`);
    problems.push(...batchesSplit(h.ledger.publishes, stored));

    const { unacked } = h.ledger;
    const storedUnacked = [...unacked].filter((id) => stored.has(id)).length;
    h.log(
      `${midPublish} of ${h.procs.kills} kills struck mid-publish; ${unacked.size} messages unacknowledged, ${storedUnacked} of them stored`,
    );
    if (midPublish === 0) problems.push("no kill struck a publish in progress");

    const verdict = h.check(fleet.groups, { storedIds: stored });
    return h.result(verdict, { faults: h.procs.kills, problems });
  },
});

/**
 * A publish call is atomic: of the messages one interrupted call attempted,
 * either all are stored or none. The attempt lines of one call come together,
 * so consecutive unacknowledged records of one publisher form its last call.
 */
function batchesSplit(publishes: { id: string; publisher: string; acked: boolean }[], stored: Set<string>): string[] {
  const acked = new Set(publishes.filter((p) => p.acked).map((p) => p.id));
  const lastCall = new Map<string, string[]>();
  for (const p of publishes) {
    if (p.acked || acked.has(p.id)) continue;
    const list = lastCall.get(p.publisher) ?? [];
    list.push(p.id);
    lastCall.set(p.publisher, list);
  }
  const problems: string[] = [];
  for (const [publisher, ids] of lastCall) {
    const kept = ids.filter((id) => stored.has(id));
    if (kept.length > 0 && kept.length < ids.length)
      problems.push(
        `${publisher}'s interrupted publish of ${ids.length} messages was stored in part: ${kept.join(", ")}`,
      );
  }
  return problems;
}
