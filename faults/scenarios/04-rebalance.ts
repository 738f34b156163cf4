// Consumers join and leave a group while traffic flows: some leave with
// SIGTERM (graceful close, leases released), some with SIGKILL (leases left
// to expire). The lease columns are sampled throughout; once the churn stops,
// every partition with work ready must have an owner within the lease
// duration, and nothing acknowledged is lost.
import { STEADY_CONSUMER, startFleet, steadyFleet } from "@/faults/harness/fleet";
import { FAST_SUBSCRIPTION, faultScenario } from "@/faults/harness/harness";
import { pick, randomBetween } from "@/faults/random";
import { LeaseSampler } from "@/faults/support/lease-sampler";
import { pause } from "@/faults/wait";

const NAME = "04-rebalance";
const TOPIC = "events";
const MAX_G1 = 5;

export default faultScenario({
  name: NAME,
  title:
    "consumers added and removed (SIGTERM and SIGKILL) under traffic: partitions re-owned within the lease, none lost",
  run: async (h, opts) => {
    const fleet = await startFleet(h, steadyFleet({ topic: TOPIC, partitions: 12, g1: 2 }));
    const leaseMs = FAST_SUBSCRIPTION.leaseDurationMs;
    const sampler = new LeaseSampler(h, TOPIC, fleet.groups);
    sampler.start();
    try {
      let added = 0;
      let removed = 0;
      const end = Date.now() + opts.durationMs;
      while (Date.now() < end) {
        await pause(randomBetween(400, 1200));
        // Slots are registered as they start, so a consumer still loading counts as joining.
        const g1 = h.procs.consumers("g1");
        const live = h.procs.live(g1).filter((s) => !s.retired);
        const joining = g1.filter((s) => !s.retired && !h.procs.live([s]).length).length;
        if (live.length + joining < MAX_G1 && (live.length <= 1 || Math.random() < 0.5)) {
          const base = `g1c${g1.length + 1}`;
          h.procs.track(`start of ${base}`, () =>
            h.procs.startConsumer(base, { ...STEADY_CONSUMER, topic: TOPIC, group: "g1" }),
          );
          added++;
          h.log(`adding ${base}`);
        } else if (live.length > 1) {
          const victim = pick(live);
          const how = Math.random() < 0.5 ? "SIGTERM" : "SIGKILL";
          await h.procs.retire(victim, how);
          removed++;
          h.log(`removed ${victim.base}_${victim.incarnation} with ${how}`);
        }
        // The second group's one consumer is struck now and then too, and comes back.
        const g2 = h.procs.live(h.procs.consumers("g2"));
        if (g2[0] && Math.random() < 0.2) {
          await h.procs.kill(g2[0]);
          h.procs.restartLater(g2[0], randomBetween(0, 800));
          h.log(`killed ${g2[0].base}_${g2[0].incarnation}`);
        }
      }
      await h.procs.settle();
      // At least two consumers stay in g1 for the settled phase.
      const g1 = h.procs.consumers("g1");
      for (const s of g1.filter((x) => x.retired).slice(0, Math.max(0, 2 - h.procs.live(g1).length)))
        await h.procs.restart(s);
      const settledFrom = Date.now();
      h.log(`churn over (${added} added, ${removed} removed); traffic goes on with a steady fleet`);
      await pause(Math.max(3000, opts.durationMs / 5));
      await h.procs.stopPublishers();
      await h.drain(fleet.groups);
      await sampler.stop();

      const late = sampler.longerThan(leaseMs, settledFrom);
      h.log(
        `${sampler.samples} samples; longest ready-but-unowned window during churn ${fleet.groups.map((g) => `${g} ${sampler.longest(0, g)} ms`).join(", ")}; after ${sampler.longest(settledFrom)} ms`,
      );
      const problems = late
        .slice(0, 5)
        .map(
          (w) =>
            `after the churn, ${w.group}/${w.partitionKey} had work ready and no lease for ${w.to - Math.max(w.from, settledFrom)} ms (lease ${leaseMs} ms)${w.open ? ", still at the end" : ""}`,
        );
      if (sampler.samples < 5) problems.push(`the lease columns were sampled only ${sampler.samples} times`);
      const verdict = h.check(fleet.groups, { storedIds: await h.storedIds([TOPIC]) });
      return h.result(verdict, { faults: added + removed, problems });
    } finally {
      await sampler.stop();
    }
  },
});
