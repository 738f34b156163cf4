// Scenario 10: pipeline workers SIGKILLed at random; every build finishes,
// once, and stops polling.
import scenario from "@/faults/scenarios/10-pipeline-worker-kill";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, {
  title: "finishes every build with a verdict, triggered once, with no poll left behind",
  durationMs: 8_000,
  minFaults: 2,
  minPublished: 9,
  allDelivered: true,
});
