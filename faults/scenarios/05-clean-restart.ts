// Every consumer is stopped gracefully (SIGTERM: close the subscription,
// settle what was handed out, hand back the rest, release the leases) and
// restarted, sometimes one at a time, sometimes all at once, while traffic
// flows: no message is lost and none is delivered twice.
import { startFleet, steadyFleet } from "@/faults/harness/fleet";
import { faultScenario } from "@/faults/harness/harness";
import { pick, randomBetween } from "@/faults/random";
import { pause } from "@/faults/wait";

const NAME = "05-clean-restart";

export default faultScenario({
  name: NAME,
  title: "consumers stopped with SIGTERM and restarted (rolling and all at once): nothing lost, zero duplicates",
  run: async (h, opts) => {
    const fleet = await startFleet(h, steadyFleet({ topic: "shipments", partitions: 8, g1: 2 }));
    const end = Date.now() + opts.durationMs;
    let rounds = 0;
    while (Date.now() < end) {
      await pause(randomBetween(300, 1200));
      const live = h.procs.live(fleet.consumers);
      if (live.length === 0) continue;
      const victims = rounds++ % 3 === 2 ? live : [pick(live)];
      await Promise.all(victims.map((v) => h.procs.terminate(v)));
      h.log(`stopped ${victims.map((v) => `${v.base}_${v.incarnation}`).join(", ")} gracefully`);
      for (const v of victims) h.procs.restartLater(v, randomBetween(0, 500));
    }
    await h.endTraffic(fleet.groups);
    const verdict = h.check(fleet.groups, { storedIds: await h.storedIds(), allowedDuplicates: 0 });
    const consumerStops = h.procs.terminations - fleet.publishers.length;
    const twice = h.ledger.handedOutTwice();
    const problems =
      twice.length > 0
        ? [`${twice.length} messages handed out again after a graceful stop: ${twice.slice(0, 5).join(", ")}`]
        : [];
    return h.result(verdict, { faults: consumerStops, problems });
  },
});
