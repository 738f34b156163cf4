import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@/server/env";
import { DEFAULT_DATABASE_URL } from "@/server/queue";

const ROOT = path.resolve(__dirname, "..");

function problemsOf(source: Record<string, string>): string[] {
  try {
    parseEnv(source);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split("\n");
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("has working defaults when nothing is set", () => {
    const env = parseEnv({});
    expect(env.DATABASE_URL).toBe(DEFAULT_DATABASE_URL);
    expect(env.databaseUrlIsDefault).toBe(true);
    expect(env.PORT).toBe(3000);
    expect(env.HOST).toBe("127.0.0.1");
    expect(env.WORKER_ENABLED).toBe(true);
    expect(env.SLUICE_EMBEDDED_DB).toBe("auto");
    expect(env.SLUICE_EMBEDDED_DB_PORT).toBe(3407);
  });

  it("keeps 7 days of queue traffic unless told otherwise, and refuses a retention outside 1 to 3650 days", () => {
    expect(parseEnv({}).SLUICE_TRAFFIC_RETENTION_DAYS).toBe(7);
    expect(parseEnv({ SLUICE_TRAFFIC_RETENTION_DAYS: "30" }).SLUICE_TRAFFIC_RETENTION_DAYS).toBe(30);
    expect(problemsOf({ SLUICE_TRAFFIC_RETENTION_DAYS: "0" })).toEqual([
      'Invalid configuration: SLUICE_TRAFFIC_RETENTION_DAYS must be between 1 and 3650 days (got "0")',
    ]);
    expect(problemsOf({ SLUICE_TRAFFIC_RETENTION_DAYS: "a week" })).toEqual([
      'Invalid configuration: SLUICE_TRAFFIC_RETENTION_DAYS must be a whole number of days (got "a week")',
    ]);
  });

  it("treats empty values as unset and reads valid ones", () => {
    const env = parseEnv({
      PORT: " ",
      HOST: "0.0.0.0",
      DATABASE_URL: "mysql://app:s3cret@db.internal:3307/sluice_prod",
      WORKER_ENABLED: "No",
    });
    expect(env.PORT).toBe(3000);
    expect(env.HOST).toBe("0.0.0.0");
    expect(env.DATABASE_URL).toBe("mysql://app:s3cret@db.internal:3307/sluice_prod");
    expect(env.databaseUrlIsDefault).toBe(false);
    expect(env.WORKER_ENABLED).toBe(false);
  });

  it("moves the default database when SLUICE_DEFAULT_DB_PORT is set", () => {
    expect(parseEnv({ SLUICE_DEFAULT_DB_PORT: "3999" }).DATABASE_URL).toBe("mysql://root@127.0.0.1:3999/sluice");
  });

  it("names PORT and the bad value", () => {
    expect(problemsOf({ PORT: "abc" })).toEqual([
      'Invalid configuration: PORT must be an integer between 1 and 65535 (got "abc")',
    ]);
    expect(problemsOf({ PORT: "70000" })).toEqual([
      'Invalid configuration: PORT must be an integer between 1 and 65535 (got "70000")',
    ]);
    expect(problemsOf({ PORT: "0" })[0]).toMatch(/^Invalid configuration: PORT /);
  });

  it("names DATABASE_URL and hides its password", () => {
    expect(problemsOf({ DATABASE_URL: "postgres://u:pw@localhost/sluice" })).toEqual([
      'Invalid configuration: DATABASE_URL must start with mysql://, like mysql://root@127.0.0.1:3306/sluice (got "postgres://u:***@localhost/sluice")',
    ]);
    const [line] = problemsOf({ DATABASE_URL: "mysql://root:hunter2@127.0.0.1:3306/" });
    expect(line).toMatch(/^Invalid configuration: DATABASE_URL must end with a database name/);
    expect(line).not.toContain("hunter2");
  });

  it("validates SLUICE_RUNNERS at start-up, naming the variable and the bad field", () => {
    const ok = parseEnv({ SLUICE_RUNNERS: JSON.stringify({ queues: { main: { kind: "command", command: "make" } } }) });
    expect(ok.SLUICE_RUNNERS?.queues.main).toEqual({ kind: "command", command: "make" });
    expect(problemsOf({ SLUICE_RUNNERS: "{nope" })[0]).toMatch(/^Invalid configuration: SLUICE_RUNNERS must be JSON/);
    expect(problemsOf({ SLUICE_RUNNERS: JSON.stringify({ queues: { main: { kind: "jenkins" } } }) })[0]).toMatch(
      /^Invalid configuration: SLUICE_RUNNERS at queues\.main\.kind/,
    );
    const bk = JSON.stringify({
      queues: { mobile: { kind: "buildkite", organization: "a", pipeline: "b", branch: "main" } },
    });
    expect(problemsOf({ SLUICE_RUNNERS: bk })).toEqual([
      "Invalid configuration: BUILDKITE_API_TOKEN must be set: SLUICE_RUNNERS sends mobile to Buildkite",
    ]);
    expect(parseEnv({ SLUICE_RUNNERS: bk, BUILDKITE_API_TOKEN: "t" }).BUILDKITE_API_TOKEN).toBe("t");
  });

  it("lists every bad variable at once", () => {
    const lines = problemsOf({ PORT: "x", WORKER_ENABLED: "maybe", SLUICE_EMBEDDED_DB: "sometimes" });
    expect(lines).toHaveLength(3);
    expect(lines.join("\n")).toMatch(/PORT .*\n.*WORKER_ENABLED .*\n.*SLUICE_EMBEDDED_DB /);
  });

  it("stops a script with the message and exit code 1, not a stack trace", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/migrate.ts"], {
      cwd: ROOT,
      env: { ...process.env, PORT: "abc" },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('Invalid configuration: PORT must be an integer between 1 and 65535 (got "abc")');
    expect(run.stdout).toBe("");
  });
});
