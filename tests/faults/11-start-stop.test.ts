// Scenario 11: subscriptions opened and closed in a tight loop leave nothing
// behind and lose nothing.
import scenario from "@/faults/scenarios/11-start-stop";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, {
  title: "leaves no lease, subscriber, timer or connection behind after ~100 open/close cycles",
  durationMs: 8_000,
  minFaults: 100,
  minPublished: 101,
  allDelivered: true,
});
