// A Buildkite build through the pipeline, against a local server that speaks
// Buildkite's REST API: the webhook pushes into buildsignal, so a finished
// build is recorded long before the next poll is due.
import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, type PipelineWorker, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { handleBuildkiteWebhook } from "@/server/pipeline/webhook";
import { FakeBuildkite } from "@/tests/buildrunner/fake-buildkite";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig, verdict } from "./helpers";

const API_TOKEN = "bk-api-token";
const HOOK_TOKEN = "bk-webhook-token";
let db: TestDatabase;
let fake: FakeBuildkite;
let p: Pipeline;
let worker: PipelineWorker;

beforeAll(async () => {
  db = await freshDatabase("hook");
  fake = await FakeBuildkite.start(API_TOKEN);
  const config = await pipelineConfig(
    {
      queues: {
        mobile: {
          kind: "buildkite",
          organization: "acme",
          pipeline: "mobile",
          branch: "main",
          apiBaseUrl: fake.baseUrl,
        },
      },
    },
    // Polls an hour apart: only the webhook can finish the build within the test.
    { accepted: 3_600_000, running: 3_600_000 },
  );
  p = open(db.url, { ...config, buildkiteToken: API_TOKEN });
  worker = startPipelineWorker(p.deps, { pollIntervalMs: 20 });
});
afterAll(async () => {
  await worker.stop();
  await p.close();
  await fake.close();
  await db.drop();
});

const hook = (event: string, number: number, state: string, token = HOOK_TOKEN) =>
  handleBuildkiteWebhook(
    p.deps,
    new Headers({ "x-buildkite-token": token, "content-type": "application/json" }),
    JSON.stringify({
      event,
      build: {
        number,
        state,
        url: `https://api.buildkite.com/v2/organizations/acme/pipelines/mobile/builds/${number}`,
      },
      pipeline: { slug: "mobile" },
    }),
    HOOK_TOKEN,
  );

describe("Buildkite webhook", () => {
  it("records a finished build at once when Buildkite calls", async () => {
    const batchId = await requestBuild(p.deps, {
      queue: "mobile",
      base: [],
      head: [{ uris: ["github://acme/mobile/pull/9/abc"] }],
      requester: "ann",
    });
    const build = await until(async () => {
      const b = await p.deps.store.getBuildForBatch(batchId);
      return b && (await p.deps.store.history(b.id)).length > 0 && b.statusCalls > 0 ? b : undefined;
    }, "the build to be triggered and polled once");
    expect(build.id).toBe("buildkite:acme/mobile/1");
    expect(fake.buildsIn("acme", "mobile")).toHaveLength(1);

    fake.setState({ organization: "acme", pipeline: "mobile", number: 1 }, "passed");
    expect((await hook("build.finished", 1, "passed", "wrong-token")).status).toBe(401);
    const outcome = await hook("build.finished", 1, "passed");
    expect(outcome).toEqual({ status: 202, body: { accepted: true, buildId: build.id } });

    const { batch, build: done } = await verdict(p, batchId, 15_000);
    expect(batch.verdict).toBe("succeeded");
    const meta = JSON.parse(done.metadata) as Record<string, string>;
    expect(meta.buildUrl).toMatch(/^https?:\/\//);
    // Buildkite retries a webhook it thinks failed: the same delivery is one push.
    expect((await hook("build.finished", 1, "passed")).status).toBe(202);
  });

  it("records a build from a signed webhook (X-Buildkite-Signature) and refuses a stale or missing one", async () => {
    const batchId = await requestBuild(p.deps, {
      queue: "mobile",
      base: [],
      head: [{ uris: ["github://acme/mobile/pull/10/def"] }],
      requester: "ann",
    });
    const build = await until(async () => {
      const b = await p.deps.store.getBuildForBatch(batchId);
      return b && b.statusCalls > 0 ? b : undefined;
    }, "the build to be triggered and polled once");
    const [, number] = /^buildkite:acme\/mobile\/(\d+)$/.exec(build.id) ?? [];
    fake.setState({ organization: "acme", pipeline: "mobile", number: Number(number) }, "failed");
    const body = JSON.stringify({
      event: "build.finished",
      build: { number: Number(number), state: "failed" },
      pipeline: { slug: "mobile", organization: { slug: "acme" } },
    });
    const signed = (ts: number) =>
      handleBuildkiteWebhook(
        p.deps,
        new Headers({
          "x-buildkite-signature": `timestamp=${ts},signature=${createHmac("sha256", HOOK_TOKEN).update(`${ts}.${body}`).digest("hex")}`,
        }),
        body,
        HOOK_TOKEN,
        { signatureMaxAgeMs: 300_000 },
      );
    const now = Math.floor(Date.now() / 1000);
    expect((await signed(now - 301)).status).toBe(401);
    expect((await handleBuildkiteWebhook(p.deps, new Headers(), body, HOOK_TOKEN)).status).toBe(401);
    const plain = new Headers({ "x-buildkite-token": HOOK_TOKEN });
    const required = await handleBuildkiteWebhook(p.deps, plain, body, HOOK_TOKEN, { requireSignature: true });
    expect(required).toEqual({ status: 401, body: { error: "missing X-Buildkite-Signature" } });
    expect(await signed(now)).toEqual({ status: 202, body: { accepted: true, buildId: build.id } });
    const { batch } = await verdict(p, batchId, 15_000);
    expect(batch.verdict).toBe("failed");
  });

  it("ignores builds it did not trigger and refuses calls when no token is configured", async () => {
    expect((await hook("build.finished", 999, "passed")).body.ignored).toBeDefined();
    const off = await handleBuildkiteWebhook(p.deps, new Headers(), "{}", undefined);
    expect(off.status).toBe(404);
  });
});
