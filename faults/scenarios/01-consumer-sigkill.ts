// Consumers are SIGKILLed at random moments and restarted while traffic
// flows: nothing acknowledged is lost, order within a partition holds, and
// redeliveries stay within what the kills had in flight.
import { startFleet, steadyFleet } from "@/faults/harness/fleet";
import { faultScenario } from "@/faults/harness/harness";
import { pick, randomBetween } from "@/faults/random";
import { pause } from "@/faults/wait";

const NAME = "01-consumer-sigkill";

export default faultScenario({
  name: NAME,
  title: "consumers SIGKILLed at random and restarted: no acked message lost, order kept, duplicates ≤ in flight",
  run: async (h, opts) => {
    const fleet = await startFleet(h, steadyFleet({ topic: "orders", partitions: 8, g1: 3 }));
    const end = Date.now() + opts.durationMs;
    while (Date.now() < end) {
      await pause(randomBetween(200, 1500));
      const live = h.procs.live(fleet.consumers);
      if (live.length === 0) continue;
      const victim = pick(live);
      const inFlight = await h.procs.kill(victim);
      h.log(`killed ${victim.base}_${victim.incarnation} with ${inFlight} in flight`);
      // Back after a moment, as a supervisor would bring it; the loop goes on meanwhile.
      h.procs.restartLater(victim, randomBetween(0, 1000));
    }
    await h.endTraffic(fleet.groups);
    const verdict = h.check(fleet.groups, { storedIds: await h.storedIds() });
    return h.result(verdict, { faults: h.procs.kills });
  },
});
