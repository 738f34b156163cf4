// A command build's whole output on its page: the e2e-log queue prints two
// pages at once, then a line every half second for ten seconds (see
// e2e/web-server.ts). The page follows the last page live while the build
// runs, pages back through the rest, and shows the final lines once it ends,
// all without a reload.
import { expect, type Page, test } from "@playwright/test";

test.setTimeout(90_000);
const BUILD_TIMEOUT = 45_000;

async function trigger(page: Page, queue: string, head: string): Promise<string> {
  await page.goto("/builds/new");
  await page.getByLabel("Queue", { exact: true }).fill(queue);
  await page.getByLabel("Head changes").fill(head);
  await page.getByRole("button", { name: "Trigger build" }).click();
  await page.waitForURL((url) => /^\/builds\/(?!new$|batch\/)[^/]+$/.test(url.pathname), { timeout: BUILD_TIMEOUT });
  await page.evaluate(() => {
    (window as unknown as { __sluiceMark?: string }).__sluiceMark = "no reload";
  });
  return decodeURIComponent(new URL(page.url()).pathname.split("/").pop() ?? "");
}

/** The number in "live N" on the followed page, or 0 before the first one. */
async function lastLive(page: Page): Promise<number> {
  const text = (await page.getByTestId("build-log").textContent()) ?? "";
  const all = [...text.matchAll(/^live (\d+)$/gm)].map((m) => Number(m[1]));
  return all.length === 0 ? 0 : Math.max(...all);
}

test("a long output is paged, and its last page followed live while the build runs", async ({ page }, testInfo) => {
  const id = await trigger(page, "e2e-log", "github://acme/app/pull/8/abc888");
  expect(id).toMatch(/^cmd-/);
  const badge = page.getByTestId("build-status");
  const log = page.getByTestId("build-log");
  const pager = page.getByRole("navigation", { name: "Output pages" });

  // Following: the last page, its newest lines arriving while the build is still running.
  await expect(badge).toHaveText("running", { timeout: BUILD_TIMEOUT });
  await expect(pager.getByRole("button", { name: "Following live" })).toHaveAttribute("aria-pressed", "true");
  await expect(log).toContainText(/live \d+/, { timeout: BUILD_TIMEOUT });
  const first = await lastLive(page);
  await expect.poll(() => lastLive(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(first + 3);
  await expect(badge).toHaveText("running");
  await expect(page.getByTestId("log-page")).toHaveText("Page 2 of 2");
  await expect(page.getByTestId("log-range")).toContainText("so far");
  await page.screenshot({ path: testInfo.outputPath("build-log-following.png"), fullPage: true });

  // Paging back stops following: the first page holds the start of the output and stays put.
  await pager.getByRole("button", { name: "First" }).click();
  await expect(page.getByTestId("log-page")).toHaveText("Page 1 of 2");
  await expect(log).toContainText(/^line 1 of the long output\s+line 2 of the long output\s/);
  await expect(log).not.toContainText("live");
  await expect(pager.getByRole("button", { name: "Follow live" })).toHaveAttribute("aria-pressed", "false");

  // The build ends while the operator reads page 1: the page does not move.
  await expect(badge).toHaveText("succeeded", { timeout: BUILD_TIMEOUT });
  await expect(page.getByTestId("log-page")).toHaveText("Page 1 of 2");
  await expect(log).toContainText("line 1 of the long output");

  // Next and Last reach the end, with every live line and the whole output's size.
  await pager.getByRole("button", { name: "Next" }).click();
  await expect(page.getByTestId("log-page")).toHaveText("Page 2 of 2");
  await expect(log).toContainText(/line 4000 of the long output\s+live 1\s/);
  await expect(log).toContainText(/live 20\s*$/);
  await expect(page.getByTestId("log-range")).not.toContainText("so far");
  await pager.getByRole("button", { name: "First" }).click();
  await pager.getByRole("button", { name: "Last" }).click();
  await expect(log).toContainText("live 20");
  await expect(pager.getByRole("button", { name: /Follow/ })).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __sluiceMark?: string }).__sluiceMark)).toBe("no reload");
  await page.screenshot({ path: testInfo.outputPath("build-log-finished.png"), fullPage: true });
});
