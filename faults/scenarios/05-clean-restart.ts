// Every consumer is stopped gracefully (SIGTERM: close the subscription,
// settle what was handed out, hand back the rest, release the leases) and
// restarted, sometimes one at a time, sometimes all at once, while traffic
// flows: no message is lost and none is delivered twice.
import { partitionKeys, startFleet } from "../fleet";
import { pause, pick, randomBetween, withHarness } from "../harness";
import type { Scenario } from "../types";

const NAME = "05-clean-restart";

const scenario: Scenario = {
  name: NAME,
  title: "consumers stopped with SIGTERM and restarted (rolling and all at once): nothing lost, zero duplicates",
  run: (opts) =>
    withHarness(NAME, opts, async (h, startedAt) => {
      const fleet = await startFleet(h, {
        topic: "shipments",
        partitionKeys: partitionKeys(8),
        publishers: 2,
        ratePerSec: 50,
        groups: { g1: 2, g2: 1 },
        consumer: { handleMs: [0, 5] },
      });
      const end = Date.now() + opts.durationMs;
      let rounds = 0;
      while (Date.now() < end) {
        await pause(randomBetween(300, 1200));
        const live = h.live(fleet.consumers);
        if (live.length === 0) continue;
        const victims = rounds++ % 3 === 2 ? live : [pick(live)];
        await Promise.all(victims.map((v) => h.terminate(v)));
        h.log(`stopped ${victims.map((v) => `${v.base}_${v.incarnation}`).join(", ")} gracefully`);
        for (const v of victims) h.restartLater(v, randomBetween(0, 500));
      }
      await h.settle();
      await h.stopPublishers();
      await h.drain(fleet.groups);
      const verdict = h.check(fleet.groups, { storedIds: await h.storedIds(), allowedDuplicates: 0 });
      const consumerStops = h.terminations - fleet.publishers.length;
      const twice = h.handedOutTwice();
      const problems =
        twice.length > 0
          ? [`${twice.length} messages handed out again after a graceful stop: ${twice.slice(0, 5).join(", ")}`]
          : [];
      return h.result(NAME, verdict, { faults: consumerStops, startedAt, problems });
    }),
};

export default scenario;
