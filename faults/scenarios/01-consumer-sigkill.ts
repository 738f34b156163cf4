// Consumers are SIGKILLed at random moments and restarted while traffic
// flows: nothing acknowledged is lost, order within a partition holds, and
// redeliveries stay within what the kills had in flight.
import { startFleet, partitionKeys } from "../fleet";
import { pause, pick, randomBetween, withHarness } from "../harness";
import type { Scenario } from "../types";

const NAME = "01-consumer-sigkill";

const scenario: Scenario = {
  name: NAME,
  title: "consumers SIGKILLed at random and restarted: no acked message lost, order kept, duplicates ≤ in flight",
  run: (opts) =>
    withHarness(NAME, opts, async (h, startedAt) => {
      const fleet = await startFleet(h, {
        topic: "orders",
        partitionKeys: partitionKeys(8),
        publishers: 2,
        ratePerSec: 50,
        groups: { g1: 3, g2: 1 },
        consumer: { handleMs: [0, 5] },
      });
      const end = Date.now() + opts.durationMs;
      while (Date.now() < end) {
        await pause(randomBetween(200, 1500));
        const live = h.live(fleet.consumers);
        if (live.length === 0) continue;
        const victim = pick(live);
        const inFlight = await h.kill(victim);
        h.log(`killed ${victim.base}_${victim.incarnation} with ${inFlight} in flight`);
        // Back after a moment, as a supervisor would bring it; the loop goes on meanwhile.
        h.restartLater(victim, randomBetween(0, 1000));
      }
      await h.settle();
      await h.stopPublishers();
      await h.drain(fleet.groups);
      const verdict = h.check(fleet.groups, { storedIds: await h.storedIds() });
      return h.result(NAME, verdict, { faults: h.kills, startedAt });
    }),
};

export default scenario;
