import scenario from "@/faults/scenarios/02-publisher-sigkill";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, { durationMs: 8_000, minFaults: 1, minPublished: 300 });
