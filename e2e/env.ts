// What the e2e tests share with the processes their setup starts:
// the run's database, and a scratch folder where the test consumer
// (fixtures/consumer.ts) records what it consumed and looks for "heal" switches.
import { tmpdir } from "node:os";
import path from "node:path";

/** The run's fresh database (playwright.config.ts makes it; global-teardown drops it). */
export function e2eDatabaseUrl(): string {
  const url = process.env.SLUICE_E2E_DATABASE_URL;
  if (!url) throw new Error("SLUICE_E2E_DATABASE_URL is not set: run the e2e tests through playwright.config.ts");
  return url;
}

/** The scratch folder of this run's test consumer. */
export function e2eQueueDir(): string {
  const db = process.env.SLUICE_E2E_DB;
  if (!db) throw new Error("SLUICE_E2E_DB is not set: run the e2e tests through playwright.config.ts");
  return path.join(tmpdir(), `${db}-queue`);
}

/** The topics the test consumer reads, as consumer group CONSUMER_GROUP. */
export const CONSUMED_TOPICS = [
  "e2e.deferred",
  "e2e.failing",
  "e2e.bulk",
  "e2e.purge",
  "e2e.auth",
  "e2e.cancel",
  "e2e.groups",
  "e2e.ui",
] as const;
export const CONSUMER_GROUP = "e2e";

/**
 * What a test publishes to a consumed topic: `fail` makes the consumer
 * reject the message (to the DLQ at once) with that reason, until the test
 * "heals" it by creating the switch file for `heal` (the message id when
 * absent); after that the same message is acked.
 */
export interface E2ePayload {
  fail?: string;
  heal?: string;
  [k: string]: unknown;
}

export const healFile = (dir: string, key: string) => path.join(dir, `heal-${encodeURIComponent(key)}`);
export const consumedLog = (dir: string) => path.join(dir, "consumed.jsonl");

export interface ConsumedEntry {
  topic: string;
  partitionKey: string;
  id: string;
  attempt: number;
}

/** The users global-setup creates, and where it keeps each one's signed-in browser state. */
export const E2E_USERS = {
  operator: { username: "e2e-operator", password: "e2e-operator-password", role: "operator" },
  viewer: { username: "e2e-viewer", password: "e2e-viewer-password", role: "viewer" },
} as const;

export function storageStatePath(who: keyof typeof E2E_USERS): string {
  const db = process.env.SLUICE_E2E_DB;
  if (!db) throw new Error("SLUICE_E2E_DB is not set: run the e2e tests through playwright.config.ts");
  return path.join(tmpdir(), `${db}-auth`, `${who}.json`);
}

/**
 * The e2e-github queue's GitHub: e2e/github.spec.ts runs the fake GitHub of
 * the Vitest tests (tests/buildrunner/fake-github.ts) on this port, which the
 * web server was configured with before the test started it.
 */
export const E2E_GITHUB = {
  token: "github_pat_e2e_0123456789abcdefghijklmnopqrstuvwxyz",
  webhookSecret: "e2e-github-webhook-secret-0123456789",
  owner: "acme",
  repo: "web",
  workflow: "merge-queue.yml",
} as const;

export function e2eGitHubPort(): number {
  const port = Number(process.env.SLUICE_E2E_GITHUB_PORT);
  if (!port) throw new Error("SLUICE_E2E_GITHUB_PORT is not set: run the e2e tests through playwright.config.ts");
  return port;
}
