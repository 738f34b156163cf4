// A GitHub Actions build through the pipeline on the real database and queue,
// against a local server that speaks GitHub's REST API: a signed
// workflow_run webhook records the finished run long before the next poll,
// and a rate limit becomes a retry at the time GitHub names, not a backoff
// guess and not a dead letter.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Pipeline, type PipelineWorker, requestBuild, startPipelineWorker } from "@/server/pipeline";
import { handleGitHubWebhook } from "@/server/pipeline/github-webhook";
import { FakeGitHub } from "@/tests/buildrunner/fake-github";
import { addWorkflow, FILE, OWNER, REPO, runIdOf, TOKEN } from "@/tests/buildrunner/github-helpers";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/wait";
import { open, pipelineConfig, verdict } from "./helpers";

const SECRET = "gh-webhook-secret-0123456789";
let db: TestDatabase;
let fake: FakeGitHub;
let p: Pipeline;
let worker: PipelineWorker;

beforeAll(async () => {
  db = await freshDatabase("gh");
  fake = await FakeGitHub.start({ token: TOKEN });
  addWorkflow(fake);
  const wf = { kind: "github" as const, owner: OWNER, repo: REPO, workflow: FILE, ref: "main", apiUrl: fake.baseUrl };
  const config = await pipelineConfig(
    { queues: { app: { ...wf, inputs: { head: "head" } }, limited: wf } },
    // Polls an hour apart: only a webhook (or a retry) can move a build within the test.
    { accepted: 3_600_000, running: 3_600_000 },
  );
  p = open(db.url, { ...config, github: { token: TOKEN, cancelGraceMs: 60_000, findTimeoutMs: 5_000 } });
  // A failed handler would be retried after 50 ms: a retry seconds later can only be the rate limit's.
  worker = startPipelineWorker(p.deps, { pollIntervalMs: 20, retryBackoffMs: () => 50 });
});
afterAll(async () => {
  await worker.stop();
  await p.close();
  await fake.close();
  await db.drop();
});

const request = (queue: string, n: number) =>
  requestBuild(p.deps, { queue, base: [], head: [{ uris: [`github://acme/app/pull/${n}/abc`] }], requester: "ann" });

async function polledBuild(batchId: string) {
  return until(async () => {
    const b = await p.deps.store.getBuildForBatch(batchId);
    return b && b.statusCalls > 0 ? b : undefined;
  }, "the build to be triggered and polled once");
}

const hook = (headers: Record<string, string>, body: string) =>
  handleGitHubWebhook(p.deps, new Headers(headers), body, SECRET);

describe("GitHub webhook", () => {
  it("records a finished run at once when GitHub calls with a good signature", async () => {
    const batchId = await request("app", 1);
    const build = await polledBuild(batchId);
    const runId = runIdOf(build.id);
    expect(build.id).toBe(`github:${OWNER}/${REPO}/${runId}`);
    expect(fake.runs.filter((r) => r.id === runId)).toHaveLength(1);

    fake.setRun(runId, { status: "completed", conclusion: "success" });
    const good = fake.webhook(runId, "completed", SECRET);
    const forged = fake.webhook(runId, "completed", "not-the-secret-at-all");
    const { "x-hub-signature-256": _sig, ...unsigned } = good.headers;
    expect((await hook(forged.headers, good.body)).status).toBe(401);
    expect((await hook(unsigned, good.body)).status).toBe(401);
    // A good signature over another body: the body was changed on the way.
    expect((await hook(good.headers, good.body.replace("completed", "requested"))).status).toBe(401);
    expect(await hook(good.headers, good.body)).toEqual({ status: 202, body: { accepted: true, buildId: build.id } });

    const { batch, build: done } = await verdict(p, batchId, 15_000);
    expect(batch.verdict).toBe("succeeded");
    expect(JSON.parse(done.metadata)).toMatchObject({
      runner: "github",
      githubConclusion: "success",
      buildUrl: `https://github.com/${OWNER}/${REPO}/actions/runs/${runId}`,
    });
    // GitHub redelivers: the same event is accepted again and changes nothing.
    expect((await hook(good.headers, good.body)).status).toBe(202);
  });

  it("acknowledges and ignores other events and runs it did not start, and refuses when unconfigured", async () => {
    const foreign = fake.addForeignRun(`${OWNER}/${REPO}`, FILE, "nightly");
    const delivery = fake.webhook(foreign.id, "completed", SECRET);
    expect((await hook(delivery.headers, delivery.body)).body.ignored).toBe("not a build of this Sluice");
    const ping = { ...delivery.headers, "x-github-event": "ping" };
    expect(await hook(ping, delivery.body)).toEqual({ status: 202, body: { ignored: "event ping" } });
    const off = await handleGitHubWebhook(p.deps, new Headers(delivery.headers), delivery.body, undefined);
    expect(off.status).toBe(404);
  });
});

describe("rate limits", () => {
  const dispatchPath = `/repos/${OWNER}/${REPO}/actions/workflows/${FILE}/dispatches`;

  it("retries a rate-limited trigger after retry-after, not after the backoff, and does not dead-letter it", async () => {
    fake.inject(
      { status: 429, headers: { "retry-after": "2" }, body: { message: "You have exceeded a secondary rate limit." } },
      (r) => r.path === dispatchPath,
    );
    const before = fake.requests.length;
    const batchId = await request("limited", 2);
    const build = await polledBuild(batchId);
    const tries = fake.requests.slice(before).filter((r) => r.path === dispatchPath);
    expect(tries).toHaveLength(2);
    const gap = (tries[1]?.at ?? 0) - (tries[0]?.at ?? 0);
    // retry-after: 2 (s); the worker's backoff would have said 50 ms.
    expect(gap).toBeGreaterThanOrEqual(1_900);
    expect(gap).toBeLessThan(10_000);
    expect(build.id).toMatch(/^github:/);
    expect(await db.sql("SELECT 1 FROM queue_messages WHERE topic = 'build_dlq'")).toHaveLength(0);
  });

  it("retries a status poll after x-ratelimit-reset", async () => {
    const batchId = await request("limited", 3);
    const build = await polledBuild(batchId);
    const runPath = `/repos/${OWNER}/${REPO}/actions/runs/${runIdOf(build.id)}`;
    const reset = Math.floor(Date.now() / 1000) + 3;
    fake.inject(
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset), date: new Date().toUTCString() },
        body: { message: "API rate limit exceeded for installation ID 1." },
      },
      (r) => r.method === "GET" && r.path === runPath,
    );
    fake.setRun(runIdOf(build.id), { status: "completed", conclusion: "failure" });
    const limited = Date.now();
    const delivery = fake.webhook(runIdOf(build.id), "completed", SECRET);
    expect((await hook(delivery.headers, delivery.body)).status).toBe(202);

    const { batch } = await verdict(p, batchId, 15_000);
    expect(batch.verdict).toBe("failed");
    // Not before the reset GitHub named (whole seconds), though the backoff would have said 50 ms.
    expect(Date.now()).toBeGreaterThanOrEqual(reset * 1000);
    expect(Date.now() - limited).toBeGreaterThanOrEqual(1_900);
    expect(await db.sql("SELECT 1 FROM queue_messages WHERE topic = 'buildsignal_dlq'")).toHaveLength(0);
  });
});
