// Builds in the console against the real pipeline: the web server runs the
// worker in-process with command runners for e2e-ok ("sleep 3; echo ok"),
// e2e-fail ("echo boom; exit 3") and e2e-long ("sleep 120"); see
// e2e/web-server.ts. Status changes must reach the page without a reload.
import { type APIRequestContext, expect, type Page, test } from "@playwright/test";

// A build's whole life (worker pick-up, a 3 s command, polls) fits well inside this.
test.setTimeout(90_000);
const BUILD_TIMEOUT = 45_000;

/** The builds the API lists (all of them: the e2e database holds few). */
async function buildIds(request: APIRequestContext): Promise<string[]> {
  const input = encodeURIComponent(JSON.stringify({ json: { limit: 200 } }));
  const res = await request.get(`/api/trpc/builds.list?input=${input}`);
  expect(res.status()).toBe(200);
  const body = (await res.json()) as { result: { data: { json: { items: Array<{ id: string }> } } } };
  return body.result.data.json.items.map((b) => b.id);
}

/** Marks the window: if the page were reloaded, the mark would be gone. */
async function markWindow(page: Page) {
  await page.evaluate(() => {
    (window as unknown as { __sluiceMark?: string }).__sluiceMark = "no reload";
  });
}

async function expectNoReload(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __sluiceMark?: string }).__sluiceMark)).toBe("no reload");
}

/** Fills the trigger form and submits it; resolves on the build's own page (/builds/<id>). */
async function triggerFromForm(page: Page, fields: { queue: string; base?: string; head: string; metadata?: string }) {
  await page.getByLabel("Queue", { exact: true }).fill(fields.queue);
  await page.getByLabel("Base changes").fill(fields.base ?? "");
  await page.getByLabel("Head changes").fill(fields.head);
  await page.getByLabel("Metadata").fill(fields.metadata ?? "");
  await page.getByRole("button", { name: "Trigger build" }).click();
  // Through /builds/batch/<id> ("waiting for a worker") to the build's page, by client-side navigation.
  await page.waitForURL((url) => /^\/builds\/(?!new$|batch\/)[^/]+$/.test(url.pathname), {
    timeout: BUILD_TIMEOUT,
  });
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");
}

async function openForm(page: Page) {
  // From the list, by its button: the console is one page app from here on.
  await page.goto("/builds");
  await markWindow(page);
  await page.getByRole("link", { name: "Trigger build" }).click();
  await expect(page.getByRole("heading", { name: "Trigger a build" })).toBeVisible();
}

test("a build triggered from the form goes accepted, running, succeeded, live on its page", async ({
  page,
}, testInfo) => {
  await openForm(page);
  const id = await triggerFromForm(page, {
    queue: "e2e-ok",
    base: "github://acme/app/pull/1/aaa111",
    head: "github://acme/app/pull/2/bbb222 github://acme/lib/pull/7/ccc333\ngithub://acme/app/pull/3/ddd444",
    metadata: "ticket=OPS-7\nbuildUrl=https://ci.example.com/builds/42",
  });
  expect(id).toMatch(/^cmd-/);

  const badge = page.getByTestId("build-status");
  // accepted may be brief: the first status seen is accepted or running, then running, then succeeded.
  await expect(badge).toHaveText(/^(accepted|running)$/, { timeout: BUILD_TIMEOUT });
  await expect(badge).toHaveText("running", { timeout: BUILD_TIMEOUT });
  await expect(page.getByRole("button", { name: "Cancel build" })).toBeVisible();
  await expect(badge).toHaveText("succeeded", { timeout: BUILD_TIMEOUT });
  await expectNoReload(page);

  // Finished: no cancel, the history in order, the changes and metadata as requested.
  await expect(page.getByRole("button", { name: "Cancel build" })).toHaveCount(0);
  await expect(page.getByTestId("status-history").locator("tbody tr")).toHaveText([/accepted/, /running/, /succeeded/]);
  await expect(page.getByTestId("base-changes").locator("li")).toHaveText(["github://acme/app/pull/1/aaa111"]);
  await expect(page.getByTestId("head-changes").locator("li")).toHaveCount(2);
  await expect(page.getByTestId("head-changes")).toContainText("github://acme/lib/pull/7/ccc333");
  await expect(page.getByTestId("exit-code")).toHaveText("0");
  await expect(page.getByTestId("build-log")).toContainText("ok");
  const link = page.getByTestId("request-metadata").getByRole("link", { name: "https://ci.example.com/builds/42" });
  await expect(link).toHaveAttribute("href", "https://ci.example.com/builds/42");
  await page.screenshot({ path: testInfo.outputPath("build-succeeded.png"), fullPage: true });

  // The list shows it too, reached through the navigation.
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Builds" }).click();
  const row = page.locator(`tr[data-build-id="${id}"]`);
  await expect(row.getByTestId("build-status")).toHaveText("succeeded");
  await expect(row).toContainText("e2e-ok");
  await expectNoReload(page);
  await page.screenshot({ path: testInfo.outputPath("builds-list.png"), fullPage: true });
});

test("a failing build shows failed with its exit code", async ({ page }, testInfo) => {
  await openForm(page);
  await triggerFromForm(page, { queue: "e2e-fail", head: "github://acme/app/pull/4/eee555" });
  await expect(page.getByTestId("build-status")).toHaveText("failed", { timeout: BUILD_TIMEOUT });
  await expect(page.getByTestId("exit-code")).toHaveText("3");
  await expect(page.getByTestId("build-reason")).toHaveText("exited with code 3");
  await expect(page.getByTestId("build-log")).toContainText("boom");
  await expectNoReload(page);
  await page.screenshot({ path: testInfo.outputPath("build-failed.png"), fullPage: true });
});

test("a long build is cancelled from its page", async ({ page }, testInfo) => {
  await openForm(page);
  await triggerFromForm(page, { queue: "e2e-long", head: "github://acme/app/pull/5/fff666" });
  const badge = page.getByTestId("build-status");
  await expect(badge).toHaveText("running", { timeout: BUILD_TIMEOUT });

  // The first click only asks; "Keep it running" backs out.
  await page.getByRole("button", { name: "Cancel build" }).click();
  await page.getByRole("button", { name: "Keep it running" }).click();
  await expect(badge).toHaveText("running");
  await page.getByRole("button", { name: "Cancel build" }).click();
  await page.getByRole("button", { name: "Yes, cancel build" }).click();

  await expect(badge).toHaveText("cancelled", { timeout: BUILD_TIMEOUT });
  await expect(page.getByRole("button", { name: /cancel build/i })).toHaveCount(0);
  await expect(page.getByTestId("status-history").locator("tbody tr")).toHaveText([/accepted/, /running/, /cancelled/]);
  await expectNoReload(page);
  await page.screenshot({ path: testInfo.outputPath("build-cancelled.png"), fullPage: true });
});

test("invalid input shows an error beside each field and creates nothing", async ({ page, request }, testInfo) => {
  const before = await buildIds(request);
  const triggers: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("builds.trigger")) triggers.push(r.url());
  });
  await openForm(page);

  await page.getByLabel("Queue", { exact: true }).fill("");
  await page.getByLabel("Head changes").fill("github://acme/app/pull/6/ok\nnot-a-uri");
  await page.getByRole("button", { name: "Trigger build" }).click();

  const queue = page.getByLabel("Queue", { exact: true });
  const queueError = page.getByTestId("queue-error");
  await expect(queueError).toHaveText("Enter a queue name.");
  await expect(queueError).toHaveAttribute("role", "alert");
  await expect(queue).toHaveAttribute("aria-invalid", "true");
  await expect(queue).toHaveAttribute("aria-describedby", /trigger-queue-error/);
  const head = page.getByLabel("Head changes");
  await expect(page.getByTestId("head-error")).toHaveText(
    '"not-a-uri" is not a URI like github://org/repo/pull/123/<sha>.',
  );
  await expect(head).toHaveAttribute("aria-describedby", /trigger-head-error/);
  await expect(page.getByTestId("base-error")).toHaveCount(0);
  await expect(page).toHaveURL(/\/builds\/new$/);
  await page.screenshot({ path: testInfo.outputPath("form-errors.png"), fullPage: true });

  // Corrected fields lose their errors as they are typed.
  await queue.fill("e2e-ok");
  await expect(queueError).toHaveCount(0);
  await expect(page.getByTestId("head-error")).toBeVisible();

  // A well-formed request for a queue no runner builds: the server says so, and stores nothing.
  await queue.fill("no-such-queue");
  await head.fill("github://acme/app/pull/6/ok");
  await page.getByRole("button", { name: "Trigger build" }).click();
  await expect(page.getByTestId("form-error")).toContainText('no runner is configured for queue "no-such-queue"');
  expect(triggers).toHaveLength(1);

  // The server checks the same rules and names the fields (what the form shows beside them).
  // Same-origin JSON, as the console sends it (anything else is refused as cross-site).
  const res = await request.post("/api/trpc/builds.trigger", {
    headers: { origin: new URL(page.url()).origin },
    data: { json: { queue: "bad queue", head: [{ uris: ["nope"] }] } },
  });
  expect(res.status()).toBe(400);
  const body = (await res.json()) as {
    error: { json: { data: { zodError: { fieldErrors: Record<string, string[]> } } } };
  };
  expect(body.error.json.data.zodError.fieldErrors.queue?.[0]).toMatch(/is not a queue name/);
  expect(body.error.json.data.zodError.fieldErrors.head).toEqual([
    '"nope" is not a URI like github://org/repo/pull/123/<sha>.',
  ]);

  expect(await buildIds(request)).toEqual(before);
  await expectNoReload(page);
});
