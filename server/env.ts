// Sluice's configuration: every environment variable it reads is declared and
// validated here, and nowhere else. A wrong value stops the program with one
// line per problem that names the variable, e.g.
//   Invalid configuration: PORT must be an integer between 1 and 65535 (got "abc")
// Empty values count as unset, so `PORT= npm start` uses the default.
import { createPrivateKey } from "node:crypto";
import { z } from "zod";
import { CodedError } from "./coded-error";
import { runnersConfigSchema } from "./pipeline/config";
import { DEFAULT_DATABASE_URL } from "./queue";

const PORT_RULE = "must be an integer between 1 and 65535";
const port = z
  .string()
  .regex(/^[0-9]{1,5}$/, PORT_RULE)
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, PORT_RULE);

const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];
const bool = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum([...TRUE_WORDS, ...FALSE_WORDS], { error: "must be true or false (or 1/0, yes/no, on/off)" }))
  .transform((s) => TRUE_WORDS.includes(s));

const DATABASE_NAME = /^[A-Za-z0-9_$-]{1,64}$/;
const mysqlUrl = z.string().superRefine((value, ctx) => {
  if (!value.startsWith("mysql://")) {
    ctx.addIssue({ code: "custom", message: "must start with mysql://, like mysql://root@127.0.0.1:3306/sluice" });
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a valid URL, like mysql://user:password@host:3306/sluice" });
    return;
  }
  if (!url.hostname)
    ctx.addIssue({ code: "custom", message: "must name a host, like mysql://root@127.0.0.1:3306/sluice" });
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!DATABASE_NAME.test(name)) {
    ctx.addIssue({
      code: "custom",
      message:
        "must end with a database name of 1-64 letters, digits, _ $ or -, like mysql://root@127.0.0.1:3306/sluice",
    });
  }
});

const hostName = z
  .string()
  .regex(/^[A-Za-z0-9.:_-]+$/, "must be a host name or an IP address, like 127.0.0.1 or 0.0.0.0");

const delayMs = z
  .string()
  .regex(/^[0-9]{1,9}$/, "must be a whole number of milliseconds")
  .transform(Number)
  .refine((n) => n >= 10 && n <= 3_600_000, "must be between 10 and 3600000 ms");

/** A whole number from `min` to `max`; `unit` (plural) names what it counts in the messages. */
const wholeNumber = (min: number, max: number, unit?: string) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, `must be a whole number${unit ? ` of ${unit}` : ""}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}${unit ? ` ${unit}` : ""}`);

/** A PEM private key, with real newlines or \n escapes (one-line environment files); never echoed. */
const privateKeyPem = z.string().transform((raw, ctx) => {
  const pem = raw.includes("\\n") ? raw.replaceAll("\\n", "\n") : raw;
  try {
    createPrivateKey(pem);
  } catch {
    ctx.addIssue({
      code: "custom",
      message: "must be the App's PEM private key (-----BEGIN RSA PRIVATE KEY----- ...)",
    });
    return z.NEVER;
  }
  return pem;
});

const runnersJson = z.string().transform((text, ctx) => {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: 'must be JSON, like {"default":{"kind":"noop"}}' });
    return z.NEVER;
  }
  const parsed = runnersConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    ctx.addIssue({ code: "custom", message: `at ${issue?.path.join(".") || "the top"}: ${issue?.message}` });
    return z.NEVER;
  }
  return parsed.data;
});

const envSchema = z.object({
  /** The database Sluice uses. Unset: DEFAULT_DATABASE_URL (port SLUICE_DEFAULT_DB_PORT), with the embedded fallback. */
  DATABASE_URL: mysqlUrl.optional(),
  /** The web server's port. */
  PORT: port.default(3000),
  /** The address the web server listens on, and the host name it answers to (server/http/edge.ts). */
  HOST: hostName.default("127.0.0.1"),
  /** Whether `npm start` runs the worker process next to the web server. */
  WORKER_ENABLED: bool.default(true),
  /** The port of the default database (used when DATABASE_URL is unset). */
  SLUICE_DEFAULT_DB_PORT: port.default(3306),
  /** auto: when DATABASE_URL is unset and nothing answers at the default, `npm start` runs a private MariaDB. off: never. */
  SLUICE_EMBEDDED_DB: z.enum(["auto", "off"], { error: "must be auto or off" }).default("auto"),
  /** The port the private MariaDB of `npm start` prefers (a free one is taken when it is busy). */
  SLUICE_EMBEDDED_DB_PORT: port.default(3407),
  /** Whether the web server runs the pipeline worker in-process (a single-node install without `npm run worker`). */
  SLUICE_IN_PROCESS_WORKER: bool.default(false),
  /** Which runner builds which queue, as JSON (server/pipeline/config.ts). Unset: DEFAULT_RUNNERS. */
  SLUICE_RUNNERS: runnersJson.optional(),
  /** Delay before polling an accepted build again, ms. */
  SLUICE_POLL_ACCEPTED_MS: delayMs.default(5_000),
  /** Delay before polling a running build again, ms. */
  SLUICE_POLL_RUNNING_MS: delayMs.default(2_000),
  /** Delay before polling a build that waits on a person (Buildkite blocked, GitHub waiting), ms. */
  SLUICE_POLL_WAITING_MS: delayMs.default(30_000),
  /** Consecutive failed status calls after which a build ends failed (1 to 1000). */
  SLUICE_MAX_STATUS_FAILURES: wholeNumber(1, 1000).default(10),
  /** Days of per-minute traffic (the console's charts) garbage collection keeps, 1 to 3650. Default 7 days. */
  SLUICE_TRAFFIC_RETENTION_DAYS: wholeNumber(1, 3650, "days").default(7),
  /** Where command builds keep their files (build.json, output.log, exit). */
  SLUICE_BUILD_DIR: z.string().min(1).default(".sluice/builds"),
  /** `npm run worker` serves Prometheus metrics at http://SLUICE_METRICS_HOST:port/metrics when set. */
  SLUICE_METRICS_PORT: port.optional(),
  /** The address of the worker's metrics listener. */
  SLUICE_METRICS_HOST: hostName.default("127.0.0.1"),
  /**
   * A bearer token (secret, at least 16 characters) that /api/metrics, the
   * worker's /metrics and GET /api/worker then require
   * (`Authorization: Bearer <token>`). Unset: metrics answer anyone who can
   * reach them, and GET /api/worker answers signed-in users only.
   */
  SLUICE_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** How long a console sign-in lasts before the user must sign in again, hours. */
  SLUICE_SESSION_HOURS: z.coerce
    .number({ error: "must be a number of hours" })
    .min(0.01, "must be at least 0.01 hours")
    .max(24 * 30, "must be at most 720 hours (30 days)")
    .default(12),
  /**
   * Origins (scheme://host[:port], comma-separated) besides the server's own
   * from which the console may change anything: set it when a proxy serves
   * the console under another name. Their hosts are also the only names
   * besides HOST the web server answers to (a Host header naming anything
   * else gets 421: DNS rebinding). Unset: the server's own origin only.
   */
  SLUICE_ALLOWED_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .url({ error: "must be a comma-separated list of origins like https://sluice.example.com" })
          .transform((u) => new URL(u).origin),
      ),
    )
    .default([]),
  /**
   * Whether a proxy in front sets X-Forwarded-For and X-Forwarded-Proto. The
   * rightmost entry of each (the one that proxy added; a client can write
   * anything to the left of it) is used, and an X-Forwarded-Host must name
   * this server. Unset: the web server drops those headers and uses the
   * socket's address.
   */
  SLUICE_TRUST_PROXY: bool.default(false),
  /** API token for buildkite runners (secret). */
  BUILDKITE_API_TOKEN: z.string().min(1).optional(),
  /**
   * The webhook's token in Buildkite: sent as it is (X-Buildkite-Token) or as
   * the key of an HMAC (X-Buildkite-Signature); unset: the webhook route
   * refuses every call.
   */
  BUILDKITE_WEBHOOK_TOKEN: z.string().min(8, "must be at least 8 characters").optional(),
  /** Refuse a plain X-Buildkite-Token: only signed webhooks are taken. */
  BUILDKITE_WEBHOOK_SIGNED_ONLY: bool.default(false),
  /**
   * How far an X-Buildkite-Signature's timestamp may be from now, either way
   * (clock skew), ms; further off, the call is refused as a replay.
   */
  SLUICE_BUILDKITE_REPLAY_MS: z
    .string()
    .regex(/^[0-9]{1,9}$/, "must be a whole number of milliseconds")
    .transform(Number)
    .refine((n) => n >= 1000 && n <= 3_600_000, "must be between 1000 and 3600000 ms")
    .default(300_000),
  /** A fine-grained token (Actions: read and write on the repositories) for github runners with token auth (secret). */
  GITHUB_TOKEN: z.string().min(1).optional(),
  /** The GitHub App github runners authenticate as (auth "app"; the default when set). */
  GITHUB_APP_ID: z
    .string()
    .regex(/^[1-9][0-9]{0,19}$/, "must be the App's numeric id")
    .optional(),
  /** The App's private key, PEM (secret). */
  GITHUB_APP_PRIVATE_KEY: privateKeyPem.optional(),
  /** The App's installation; unset: looked up per repository. A queue's installationId wins. */
  GITHUB_APP_INSTALLATION_ID: z
    .string()
    .regex(/^[1-9][0-9]{0,19}$/, "must be a numeric installation id")
    .optional(),
  /** The secret of the GitHub webhook (X-Hub-Signature-256); unset: POST /api/webhooks/github refuses every call. */
  GITHUB_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  /** After a cancel, how long a workflow run may take to stop before it is force-cancelled, ms. */
  SLUICE_GITHUB_CANCEL_GRACE_MS: delayMs.default(60_000),
  /** How long to look for a run dispatched without run details (older GitHub Enterprise Server), ms. */
  SLUICE_GITHUB_FIND_TIMEOUT_MS: delayMs.default(30_000),
});

export type EnvName = keyof typeof envSchema.shape;
export const ENV_NAMES = Object.keys(envSchema.shape) as EnvName[];

export interface Env extends Omit<z.output<typeof envSchema>, "DATABASE_URL"> {
  /** Always set: the given DATABASE_URL, or the default one. */
  DATABASE_URL: string;
  /** True when DATABASE_URL was not set and the default is used (the embedded fallback may apply). */
  databaseUrlIsDefault: boolean;
}

/** A configuration problem; its message is meant for people, one line per problem. */
export class ConfigError extends CodedError<"CONFIG"> {
  constructor(readonly problems: string[]) {
    super("CONFIG", problems.map((p) => `Invalid configuration: ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** Hides the password of URL-like values, for messages. */
function shown(name: string, raw: string): string {
  if (/_(TOKEN|SECRET|KEY)$/.test(name)) return "a value that is not shown";
  if (name !== "DATABASE_URL") return JSON.stringify(raw);
  try {
    const u = new URL(raw);
    if (u.password) u.password = "***";
    return JSON.stringify(u.toString());
  } catch {
    return JSON.stringify(raw.replace(/:[^:@/]*@/, ":***@"));
  }
}

export function defaultDatabaseUrl(port: number): string {
  const url = new URL(DEFAULT_DATABASE_URL);
  url.port = String(port);
  return url.toString();
}

type Source = Record<string, string | undefined>;

/** Validates `source` (process.env by default); throws ConfigError naming every bad variable. */
export function parseEnv(source: Source = process.env): Env {
  const input: Source = {};
  for (const name of ENV_NAMES) {
    const value = source[name]?.trim();
    if (value) input[name] = value;
  }
  const result = envSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      const raw = input[name];
      return `${name} ${issue.message}${raw === undefined ? "" : ` (got ${shown(name, raw)})`}`;
    });
    throw new ConfigError([...new Set(problems)]);
  }
  const { DATABASE_URL, ...rest } = result.data;
  const runners = rest.SLUICE_RUNNERS;
  const buildkiteQueues = runners
    ? Object.entries(runners.queues)
        .filter(([, r]) => r.kind === "buildkite")
        .map(([q]) => q)
        .concat(runners.default?.kind === "buildkite" ? ["(default)"] : [])
    : [];
  if (buildkiteQueues.length > 0 && !rest.BUILDKITE_API_TOKEN) {
    throw new ConfigError([
      `BUILDKITE_API_TOKEN must be set: SLUICE_RUNNERS sends ${buildkiteQueues.join(", ")} to Buildkite`,
    ]);
  }
  const problems = githubProblems(rest);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    ...rest,
    DATABASE_URL: DATABASE_URL ?? defaultDatabaseUrl(rest.SLUICE_DEFAULT_DB_PORT),
    databaseUrlIsDefault: DATABASE_URL === undefined,
  };
}

/** The credentials each github queue's auth needs, named when missing. */
function githubProblems(env: Omit<z.output<typeof envSchema>, "DATABASE_URL">): string[] {
  const runners = env.SLUICE_RUNNERS;
  if (!runners) return [];
  const entries = Object.entries(runners.queues).concat(runners.default ? [["(default)", runners.default]] : []);
  const hasApp = Boolean(env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY);
  const needToken: string[] = [];
  const needApp: string[] = [];
  for (const [queue, rc] of entries) {
    if (rc.kind !== "github") continue;
    const auth = rc.auth ?? (hasApp ? "app" : "token");
    if (auth === "token" && !env.GITHUB_TOKEN) needToken.push(queue);
    if (auth === "app" && !hasApp) needApp.push(queue);
  }
  const problems: string[] = [];
  if (needToken.length > 0) problems.push(`GITHUB_TOKEN must be set: ${needToken.join(", ")} use GitHub token auth`);
  if (needApp.length > 0) {
    problems.push(`GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY must be set: ${needApp.join(", ")} use GitHub App auth`);
  }
  return problems;
}

let cached: Env | undefined;

/** The validated configuration of this process (parsed once). Throws ConfigError. */
export function getEnv(): Env {
  cached ??= parseEnv(process.env);
  return cached;
}

/** For command-line entry points: the configuration, or a message naming the bad variable and exit 1. */
export function loadEnvOrExit(): Env {
  try {
    return getEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}
