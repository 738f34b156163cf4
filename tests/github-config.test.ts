// The github runner's configuration: the `github` kind of SLUICE_RUNNERS and
// the GITHUB_* variables, validated with messages that name the problem and
// never echo a secret.
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@/server/env";

const KEY = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const queue = { kind: "github", owner: "acme", repo: "app", workflow: "merge-queue.yml", ref: "main" };
const runners = (q: Record<string, unknown>) => JSON.stringify({ queues: { app: { ...queue, ...q } } });

function problemsOf(source: Record<string, string>): string {
  try {
    parseEnv(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error("expected a ConfigError");
}

describe("github runner configuration", () => {
  it("takes a token queue with an inputs mapping and documented defaults", () => {
    const env = parseEnv({
      SLUICE_RUNNERS: runners({ inputs: { head: "head", lane: { value: "fast" } }, installationId: 42 }),
      GITHUB_TOKEN: "github_pat_x",
    });
    expect(env.SLUICE_RUNNERS?.queues.app).toMatchObject({
      kind: "github",
      inputs: { head: "head" },
      installationId: "42",
    });
    expect(env.SLUICE_GITHUB_CANCEL_GRACE_MS).toBe(60_000);
    expect(env.SLUICE_GITHUB_FIND_TIMEOUT_MS).toBe(30_000);
  });

  it.each([
    ["a bad owner", { owner: "-acme" }, /at queues\.app\.owner: must be a GitHub user or organization name/],
    [
      "a workflow that is not a file name or id",
      { workflow: "../ci" },
      /at queues\.app\.workflow: must be a workflow file/,
    ],
    ["an unknown input source", { inputs: { head: "everything" } }, /at queues\.app\.inputs\.head/],
    ["an input named like the id input", { inputs: { sluice_id: "head" } }, /is the correlation id's input/],
    ["an unknown field", { token: "x" }, /Unrecognized key/],
    ["a bad auth", { auth: "password" }, /at queues\.app\.auth/],
  ])("refuses %s, naming it", (_what, patch, message) => {
    expect(problemsOf({ SLUICE_RUNNERS: runners(patch), GITHUB_TOKEN: "t" })).toMatch(message);
  });

  it("names the missing credentials of each auth", () => {
    expect(problemsOf({ SLUICE_RUNNERS: runners({}) })).toMatch(/GITHUB_TOKEN must be set: app use GitHub token auth/);
    expect(problemsOf({ SLUICE_RUNNERS: runners({ auth: "app" }), GITHUB_TOKEN: "t" })).toMatch(
      /GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY must be set: app use GitHub App auth/,
    );
  });

  it("defaults to the App when one is configured, and reads a key with \\n escapes", () => {
    const oneLine = KEY.trim().replaceAll("\n", "\\n");
    const env = parseEnv({ SLUICE_RUNNERS: runners({}), GITHUB_APP_ID: "123", GITHUB_APP_PRIVATE_KEY: oneLine });
    expect(env.GITHUB_APP_PRIVATE_KEY).toBe(KEY.trim());
  });

  it("never echoes a bad private key or webhook secret", () => {
    const message = problemsOf({
      GITHUB_APP_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nsecretstuff\n-----END RSA PRIVATE KEY-----",
      GITHUB_WEBHOOK_SECRET: "short-secret",
    });
    expect(message).toMatch(/GITHUB_APP_PRIVATE_KEY must be the App's PEM private key/);
    expect(message).toMatch(/GITHUB_WEBHOOK_SECRET must be at least 16 characters/);
    expect(message).not.toContain("secretstuff");
    expect(message).not.toContain("short-secret");
  });
});
