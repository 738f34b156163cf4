// Scenario 09: poison messages reach the DLQ after exactly maxAttempts with
// their reason, and the good messages behind them still arrive in time.
import scenario from "@/faults/scenarios/09-poison";
import { scenarioTest } from "./scenario-test";

scenarioTest(scenario, {
  title: "dead-letters every poison message with its reason and delivers every good one",
  durationMs: 7_000,
  minFaults: 11,
  minPublished: 150,
  allDelivered: true,
});
