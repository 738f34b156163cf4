// Consumers whose clocks run five minutes ahead of and behind the database's
// (a preload shifts Date and performance.now), with a healthy one beside them
// in the same group, and a publisher whose clock is also off publishing with
// publishAfter. The skewed consumers are paused now and then (SIGSTOP) so
// their leases lapse while the others, one of them believing it is five
// minutes later, look for work. Triggers in the scenario's database record,
// on the database's own clock, every hand-out and every lease owner change:
// nothing may be handed out before its visible_after, no lease may change
// owner before it expired, and nothing is lost or reordered.
import { NOW_MS_SQL } from "@/db/clock";
import { faultScenario } from "@/faults/harness/harness";
import type { DbAdmin } from "@/faults/harness/server";
import { missed, pause, until } from "@/faults/wait";

const NAME = "08-clock-skew";
const TOPIC = "reminders";
const GROUP = "mailer";
const SKEW_MS = 5 * 60_000;
/** One delay per partition keeps visible_after rising with seq, so log order is still the delivery order. */
const DELAYS: Record<string, number> = { d1: 1_000, d2: 2_000, d3: 3_000, d1b: 1_500 };
const NOW_PARTITIONS = ["n1", "n2", "n3", "n4"];
const PAUSE_MS = 3_500;
const DRAIN_MS = 30_000;

const CONSUMER_OPTIONS = {
  batchSize: 5,
  pollIntervalMs: 50,
  // Longer than a pause: a paused consumer's deliveries stay its own while its
  // leases lapse (shorter than a pause) and others may, only then, take them.
  visibilityTimeoutMs: 5_000,
  leaseDurationMs: 2_000,
  leaseRenewalIntervalMs: 400,
  maxAttempts: 100,
};

const NOW_SQL = NOW_MS_SQL;

/** Audit tables and triggers: what the queue did, stamped with the database's clock in the same statement. */
async function installAudit(admin: DbAdmin) {
  const db = `\`${admin.database}\``;
  await admin.query(`CREATE TABLE ${db}.fault_handouts (
    partition_key varchar(255) NOT NULL, seq bigint unsigned NOT NULL, attempts int unsigned NOT NULL,
    owner varchar(64), visible_after bigint unsigned NOT NULL, at_ms bigint unsigned NOT NULL)`);
  await admin.query(`CREATE TABLE ${db}.fault_lease_changes (
    partition_key varchar(255) NOT NULL, old_owner varchar(64), new_owner varchar(64),
    old_expires bigint unsigned, at_ms bigint unsigned NOT NULL)`);
  const handout = (when: string, cond: string) => `
    CREATE TRIGGER ${db}.fault_handout_${when} AFTER ${when} ON ${db}.queue_deliveries FOR EACH ROW
    IF ${cond} THEN
      INSERT INTO ${db}.fault_handouts (partition_key, seq, attempts, owner, visible_after, at_ms)
      SELECT NEW.partition_key, NEW.seq, NEW.attempts, NEW.owner, m.visible_after, ${NOW_SQL}
      FROM ${db}.queue_messages m WHERE m.topic = NEW.topic AND m.partition_key = NEW.partition_key AND m.seq = NEW.seq;
    END IF`;
  await admin.query(handout("insert", "NEW.state = 0"));
  await admin.query(handout("update", "NEW.state = 0 AND NEW.attempts > OLD.attempts"));
  await admin.query(`
    CREATE TRIGGER ${db}.fault_lease_change BEFORE UPDATE ON ${db}.queue_group_partitions FOR EACH ROW
    IF NOT (OLD.lease_owner <=> NEW.lease_owner) THEN
      INSERT INTO ${db}.fault_lease_changes (partition_key, old_owner, new_owner, old_expires, at_ms)
      VALUES (NEW.partition_key, OLD.lease_owner, NEW.lease_owner, OLD.lease_expires_at, ${NOW_SQL});
    END IF`);
}

export default faultScenario({
  name: NAME,
  title:
    "Consumers and a publisher with clocks minutes ahead and behind the database: nothing delivered before its delay, no lease taken before it expired, nothing lost or reordered.",
  options: { subscription: CONSUMER_OPTIONS, stopGraceMs: 15_000 },
  run: async (h, opts) => {
    const admin = await h.admin();
    await installAudit(admin);
    const db = `\`${admin.database}\``;
    // publishAfter counts its delay on the database's clock, whatever the publisher's clock says.
    const wantDelay = new Map<string, number>();
    let earlyAtConsumer = 0;
    h.onLine((line) => {
      if (line.t === "pub") wantDelay.set(line.id, line.delayMs);
      else if (line.t === "del" && line.dbNow !== undefined && line.dbNow < (line.visibleAfter ?? 0)) earlyAtConsumer++;
    });
    const consumer = (base: string, skewMs: number) =>
      h.procs.startConsumer(base, { topic: TOPIC, group: GROUP, rideOutDbErrors: true, dbClock: true, skewMs });
    const [ahead, behind, healthy] = await Promise.all([
      consumer("ahead", SKEW_MS),
      consumer("behind", -SKEW_MS),
      consumer("healthy", 0),
    ]);
    const publisher = (base: string, skewMs: number, partitionKeys: string[], delayMs?: Record<string, number>) =>
      h.procs.startPublisher(base, {
        topic: TOPIC,
        partitionKeys,
        pace: { pauseMs: 15 },
        keys: "random",
        retry: true,
        delayMs,
        skewMs,
      });
    await Promise.all([
      publisher("late", SKEW_MS, Object.keys(DELAYS), DELAYS),
      publisher("early", -SKEW_MS, NOW_PARTITIONS),
    ]);

    // Pause the skewed consumers in turn, long enough for their leases to lapse.
    let pauses = 0;
    let allowedDuplicates = 0;
    const trafficStarted = performance.now();
    for (let k = 0; performance.now() - trafficStarted + PAUSE_MS < opts.durationMs; k++) {
      await pause(300 + Math.random() * 700);
      const victim = k % 2 === 0 ? behind : ahead;
      if (!h.procs.running(victim)) break;
      allowedDuplicates += h.procs.outstanding([victim]);
      h.procs.freeze(victim, true);
      pauses++;
      await pause(PAUSE_MS);
      h.procs.freeze(victim, false);
    }
    const remaining = opts.durationMs - (performance.now() - trafficStarted);
    if (remaining > 0) await pause(remaining);

    await h.procs.stopPublishers();
    const { acked } = h.ledger;
    const timedOut = await missed(
      until(() => [...acked].every((id) => h.ledger.delivered(GROUP).has(id)), "every acked message", DRAIN_MS, 100),
    );
    if (timedOut) h.log(`${timedOut}; checking what arrived`);
    await Promise.all([ahead, behind, healthy].map((c) => h.procs.terminate(c)));

    const stored = await admin.query<{ message_id: string; delay: number }>(
      `SELECT message_id, CAST(visible_after AS SIGNED) - CAST(published_at AS SIGNED) AS delay
           FROM ${db}.queue_messages WHERE topic = ?`,
      [TOPIC],
    );
    const verdict = h.check([GROUP], { allowedDuplicates, storedIds: new Set(stored.map((r) => r.message_id)) });
    const problems: string[] = [];

    // A plain publish stores visible_after 0 ("visible at once"), so only delayed rows have a delay to compare.
    const wrongDelay = stored.filter((r) => {
      const want = wantDelay.get(r.message_id) ?? 0;
      return want > 0 ? Number(r.delay) !== want : Number(r.delay) > 0;
    });
    if (wrongDelay.length > 0)
      problems.push(
        `${wrongDelay.length} messages with visible_after - published_at not their delay: ${wrongDelay
          .slice(0, 3)
          .map((r) => `${r.message_id} ${r.delay} ms, asked ${wantDelay.get(r.message_id)}`)
          .join(", ")}`,
      );

    const early = await admin.query<{ partition_key: string; seq: number; visible_after: number; at_ms: number }>(
      `SELECT partition_key, seq, visible_after, at_ms FROM ${db}.fault_handouts WHERE at_ms < visible_after`,
    );
    if (early.length > 0)
      problems.push(
        `${early.length} hand-outs before visible_after on the database's clock: ${early
          .slice(0, 3)
          .map((r) => `${r.partition_key}/${r.seq} ${Number(r.visible_after) - Number(r.at_ms)} ms early`)
          .join(", ")}`,
      );
    if (earlyAtConsumer > 0)
      problems.push(`${earlyAtConsumer} deliveries a consumer got before visible_after (database clock)`);

    const changes = await admin.query<{
      partition_key: string;
      old_owner: string | null;
      new_owner: string | null;
      old_expires: number | null;
      at_ms: number;
    }>(`SELECT partition_key, old_owner, new_owner, old_expires, at_ms FROM ${db}.fault_lease_changes`);
    const takeovers = changes.filter((c) => c.old_owner !== null && c.new_owner !== null);
    const stolen = takeovers.filter((c) => Number(c.old_expires) >= Number(c.at_ms));
    if (stolen.length > 0)
      problems.push(
        `${stolen.length} leases taken before they expired on the database's clock: ${stolen
          .slice(0, 3)
          .map((c) => `${c.partition_key} ${Number(c.old_expires) - Number(c.at_ms)} ms early`)
          .join(", ")}`,
      );
    const handouts = await admin.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db}.fault_handouts`);
    const dels = h.ledger.deliveries;
    const skewed = dels.filter((d) => !d.consumer.startsWith("healthy_")).length;
    h.log(
      `published ${acked.size}, delivered ${dels.length} (${skewed} by skewed consumers), hand-outs ${Number(handouts[0]?.n ?? 0)}, pauses ${pauses}, lease changes ${changes.length} (${takeovers.length} takeovers of lapsed leases)`,
    );
    if (skewed === 0) problems.push("the skewed consumers handled nothing: the scenario tested nothing");
    // Each delivery a skewed consumer handled and each pause is a chance for the skew to show.
    return h.result(verdict, { faults: skewed + pauses, problems });
  },
});
