// A GitHub Actions build from the console: the e2e-github queue's runner
// talks to the Vitest tests' fake GitHub (GitHub's REST wire format) on a
// port the web server was configured with, and polls ten minutes apart
// (e2e/web-server.ts), so within this test only the webhook (a signed
// workflow_run delivery to POST /api/webhooks/github) can finish the build.
import { expect, test } from "@playwright/test";
import { FakeGitHub } from "@/tests/buildrunner/fake-github";
import { E2E_GITHUB, e2eGitHubPort } from "./env";

test.setTimeout(90_000);
const TIMEOUT = 45_000;
const REPO = `${E2E_GITHUB.owner}/${E2E_GITHUB.repo}`;

let fake: FakeGitHub;

test.beforeAll(async () => {
  fake = await FakeGitHub.start({ token: E2E_GITHUB.token, port: e2eGitHubPort() });
  fake.addWorkflow(REPO, {
    id: 4242,
    file: E2E_GITHUB.workflow,
    name: "Merge queue",
    // The workflow's run-name, as written in its YAML: GitHub's expression syntax, not a JS template.
    runName: ["Sluice $", "{{ inputs.sluice_id }}"].join(""),
    inputs: ["sluice_id", "head"],
  });
});
test.afterAll(async () => {
  await fake?.close();
});

test("a github build triggered from the console is queued, then finished by GitHub's webhook before the next poll", async ({
  page,
  request,
}) => {
  await page.goto("/builds/new");
  await page.getByLabel("Queue", { exact: true }).fill("e2e-github");
  await page.getByLabel("Head changes").fill("github://acme/web/pull/12/abc123");
  await page.getByRole("button", { name: "Trigger build" }).click();
  await page.waitForURL((url) => /^\/builds\/github[^/]+$/.test(url.pathname), { timeout: TIMEOUT });
  const buildId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");

  // One run was dispatched, with the head as an input and the correlation id its run-name shows.
  expect(fake.runs).toHaveLength(1);
  const run = fake.runs[0] as (typeof fake.runs)[number];
  expect(buildId).toBe(`github:${REPO}/${run.id}`);
  expect(JSON.parse(run.inputs.head ?? "[]")).toEqual([{ uris: ["github://acme/web/pull/12/abc123"] }]);
  expect(run.display_title).toBe(`Sluice ${run.inputs.sluice_id}`);

  const badge = page.getByTestId("build-status");
  // The first poll (at once) finds the run queued; the next is ten minutes away.
  await expect(badge).toHaveText("accepted", { timeout: TIMEOUT });
  // The pipeline's own count of status calls (builds.get): the first poll only.
  const statusCalls = async () => {
    const input = encodeURIComponent(JSON.stringify({ json: { id: buildId } }));
    const res = await request.get(`/api/trpc/builds.get?input=${input}`);
    expect(res.status()).toBe(200);
    const body = (await res.json()) as { result: { data: { json: { build: { statusCalls: number } } } } };
    return body.result.data.json.build.statusCalls;
  };
  expect(await statusCalls()).toBe(1);

  // GitHub runs the workflow, then calls the webhook with the finished run, signed with the secret.
  fake.setRun(run.id, { status: "completed", conclusion: "success" });
  const delivery = fake.webhook(run.id, "completed", E2E_GITHUB.webhookSecret);
  const forged = fake.webhook(run.id, "completed", "not-the-webhook-secret-at-all");
  const refused = await request.post("/api/webhooks/github", { headers: forged.headers, data: forged.body });
  expect(refused.status()).toBe(401);
  const res = await request.post("/api/webhooks/github", { headers: delivery.headers, data: delivery.body });
  expect(res.status()).toBe(202);
  expect(await res.json()).toEqual({ accepted: true, buildId });

  // Live on the page, without a reload: succeeded, the history, and GitHub's run linked.
  await expect(badge).toHaveText("succeeded", { timeout: TIMEOUT });
  await expect(page.getByTestId("status-history").locator("tbody tr")).toHaveText([/accepted/, /succeeded/]);
  await expect(page.getByTestId("log-links").getByRole("link", { name: "The build's log" })).toHaveAttribute(
    "href",
    `https://github.com/${REPO}/actions/runs/${run.id}`,
  );
  // The status was read twice: the first poll and the webhook's push, no poll in between.
  expect(await statusCalls()).toBe(2);
});
