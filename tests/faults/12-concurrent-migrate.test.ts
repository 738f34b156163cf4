// Scenario 12: processes starting at once on an empty database; exactly one
// applies the migrations and every one starts.
import scenario from "@/faults/scenarios/12-concurrent-migrate";
import { scenarioTest } from "./scenario-test";

// Two rounds: one on an empty database, one where the database does not exist yet.
scenarioTest(scenario, {
  title: "lets exactly one process migrate an empty database while the others wait and start",
  durationMs: 1,
  minFaults: 2,
  minPublished: 8,
  allDelivered: true,
  timeoutMs: 120_000,
});
