import scenario from "@/faults/scenarios/03-connection-kill";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, {
  title: "rides out connections killed mid-statement with nothing lost, doubled or reordered",
  durationMs: 8_000,
  minFaults: 6,
  minPublished: 100,
});
