import scenario from "@/faults/scenarios/08-clock-skew";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, {
  title: "delivers nothing early and steals no lease when consumer clocks are minutes off",
  durationMs: 10_000,
  minFaults: 3,
  minPublished: 100,
});
