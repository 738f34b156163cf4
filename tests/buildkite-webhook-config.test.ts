// The Buildkite webhook's signature settings in server/env.ts: the replay
// window's default and bounds, and requiring signatures.
import { describe, expect, it } from "vitest";
import { DEFAULT_SIGNATURE_MAX_AGE_MS } from "@/server/buildrunner/buildkite-webhook";
import { ConfigError, parseEnv } from "@/server/env";

function problemsOf(source: Record<string, string>): string {
  try {
    parseEnv(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

describe("Buildkite webhook signature settings", () => {
  it("default to a 5 minute replay window, plain tokens accepted", () => {
    const env = parseEnv({});
    expect(env.SLUICE_BUILDKITE_REPLAY_MS).toBe(300_000);
    expect(DEFAULT_SIGNATURE_MAX_AGE_MS).toBe(300_000);
    expect(env.BUILDKITE_WEBHOOK_SIGNED_ONLY).toBe(false);
  });

  it("read valid values", () => {
    const env = parseEnv({
      SLUICE_BUILDKITE_REPLAY_MS: "60000",
      BUILDKITE_WEBHOOK_SIGNED_ONLY: "yes",
    });
    expect(env.SLUICE_BUILDKITE_REPLAY_MS).toBe(60_000);
    expect(env.BUILDKITE_WEBHOOK_SIGNED_ONLY).toBe(true);
  });

  it("name the variable of a bad value", () => {
    expect(problemsOf({ SLUICE_BUILDKITE_REPLAY_MS: "500" })).toMatch(
      /SLUICE_BUILDKITE_REPLAY_MS.*between 1000 and 3600000/,
    );
    expect(problemsOf({ SLUICE_BUILDKITE_REPLAY_MS: "5m" })).toMatch(/SLUICE_BUILDKITE_REPLAY_MS.*whole number/);
    expect(problemsOf({ BUILDKITE_WEBHOOK_SIGNED_ONLY: "maybe" })).toMatch(
      /BUILDKITE_WEBHOOK_SIGNED_ONLY.*true or false/,
    );
  });
});
