// Bulk DLQ actions that cannot surprise: "Requeue all matching" shows the
// count and the newest rows it would move and asks first; a requeue-all
// cancelled half-way is audited with what really moved, and the audit row
// links back to its filter and job; each failure group has its own requeue
// and purge, with counts that follow the search.
import { expect, type Page, type TestInfo, test } from "@playwright/test";
import type { Queue } from "@/server/queue";
import type { E2ePayload } from "./env";
import { consumedIds, heal, openQueue, runId, screenshot } from "./queue-helpers";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

const json = (p: E2ePayload) => JSON.stringify(p);

async function deadLettered(dlqTopic: string, n: number) {
  await expect.poll(() => queue.inspect.countDlq({ topic: dlqTopic }), { timeout: 60_000 }).toBe(n);
}

/** The same view at a desktop width and at a phone's, both kept with the test's artifacts. */
async function screenshots(page: Page, testInfo: TestInfo, name: string) {
  await screenshot(page, testInfo, `${name}-1280`);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, testInfo, `${name}-390`);
  if (size) await page.setViewportSize(size);
}

test("a cancelled requeue-all is audited with its real count", async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const topic = "e2e.cancel";
  const dlq = `${topic}_dlq`;
  const run = runId();
  const healKey = `cancel-${run}`;
  await queue.publisher.publish(
    topic,
    Array.from({ length: 400 }, (_, i) => ({
      id: `cancel-${run}-${i}`,
      partitionKey: `shard-${i % 8}`,
      payload: json({ fail: `flaky upstream after ${100 + i}ms`, heal: healKey }),
    })),
  );
  await deadLettered(dlq, 400);
  heal(healKey);

  await page.goto(`/dlq?topic=${dlq}`);
  const requeueAll = page.getByRole("button", { name: "Requeue all matching (400)" });
  await expect(requeueAll).toBeEnabled({ timeout: 15_000 });
  await page.getByLabel("Requeue rate").selectOption("50");

  // It asks first: the count, and the newest rows that would move.
  await requeueAll.click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText(`Requeue 400 messages from ${dlq}?`);
  const newest = (await queue.inspect.listDlq({ topic: dlq }, { limit: 5 })).rows.map((r) => r.id);
  const sample = dialog.getByTestId("bulk-sample").locator("tbody tr");
  await expect(sample).toHaveCount(5);
  for (const [i, id] of newest.entries()) await expect(sample.nth(i)).toHaveAttribute("data-message-id", id);
  await expect(dialog).toContainText("flaky upstream after");
  // Focus waits on the safe choice.
  await expect(dialog.getByRole("button", { name: "Keep them" })).toBeFocused();
  await screenshots(page, testInfo, "requeue-all-confirm");

  // Saying no moves nothing.
  await dialog.getByRole("button", { name: "Keep them" }).click();
  await expect(dialog).toHaveCount(0);
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(400);

  await requeueAll.click();
  await dialog.getByRole("button", { name: "Requeue 400 messages" }).click();
  await expect(dialog).toHaveCount(0);
  const progress = page.getByTestId("job-progress");
  await expect(progress).toHaveAttribute("data-state", "running");
  // 50 a second: cancel once some have moved, long before all of them have.
  await expect
    .poll(async () => Number(await progress.getAttribute("data-processed")), { timeout: 30_000 })
    .toBeGreaterThan(0);
  await progress.getByRole("button", { name: "Cancel" }).click();
  await expect(progress).toHaveAttribute("data-state", "cancelled", { timeout: 30_000 });
  const moved = Number(await progress.getAttribute("data-processed"));
  expect(moved).toBeGreaterThan(0);
  expect(moved).toBeLessThan(400);
  await expect(progress.getByRole("status")).toHaveText(`Cancelled after ${moved} of 400.`);
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(400 - moved);
  await expect
    .poll(() => consumedIds(topic).filter((id) => id.startsWith(`cancel-${run}-`)).length, { timeout: 60_000 })
    .toBe(moved);

  // The audit row says cancelled, counts what moved, and links to its filter and job.
  await page.goto("/audit?action=dlq.requeue-matching");
  const row = page.getByTestId("audit-table").locator("tbody tr").first();
  const job = row.getByTestId("audit-job");
  await expect(job).toHaveAttribute("data-state", "cancelled");
  await expect(job).toContainText(`${moved} of 400 planned`);
  await expect(row.locator("td.num")).toHaveText(String(moved));
  await screenshots(page, testInfo, "audit-cancelled-requeue-all");
  await job.getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/dlq\\?topic=${dlq.replace(".", "\\.")}&job=`));
  await expect(page.getByTestId("job-progress").getByRole("status")).toHaveText(`Cancelled after ${moved} of 400.`);
});

test("each failure group has its own requeue and purge, with counts that follow the search", async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  const topic = "e2e.groups";
  const dlq = `${topic}_dlq`;
  const run = runId();
  const healKey = `groups-${run}`;
  // Hex ids of this run (hex digits and letters both), which normalisation masks.
  const hexRun = Date.now().toString(16);
  const hex = (i: number) => `${hexRun}${i.toString(16)}a`;
  const failures: Array<(i: number) => string> = [
    (i) => `upstream timeout after ${1000 + i}ms`,
    (i) => `invalid byte sequence for encoding UTF-8 at offset ${i}`,
    (i) => `object ${hex(i)} not found in store`,
  ];
  const counts = [12, 6, 4];
  await queue.publisher.publish(
    topic,
    counts.flatMap((n, kind) =>
      Array.from({ length: n }, (_, i) => ({
        id: `groups-${run}-${kind}-${i}`,
        partitionKey: `shard-${i % 2}`,
        payload: json({ fail: failures[kind]?.(i) ?? "", heal: healKey }),
      })),
    ),
  );
  await deadLettered(dlq, 22);

  await page.goto(`/dlq?topic=${dlq}`);
  const groups = page.getByTestId("failure-groups");
  const group = (name: string) => groups.locator(`li[data-group="${name}"]`);
  const timeout = group("upstream timeout after <n>ms");
  const utf8 = group("invalid byte sequence for encoding UTF-8 at offset <n>");
  const hexGroup = group("object <hex> not found in store");
  // Numbers glued to units and hex ids are masked; UTF-8 is not.
  await expect(timeout).toHaveAttribute("data-count", "12");
  await expect(utf8).toHaveAttribute("data-count", "6");
  await expect(hexGroup).toHaveAttribute("data-count", "4");

  // The counts follow the search: half of each group is in shard-1.
  await page.getByLabel("Search").fill("shard-1");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(/[?&]q=shard-1/);
  await expect(timeout).toHaveAttribute("data-count", "6");
  await expect(utf8).toHaveAttribute("data-count", "3");
  await expect(hexGroup).toHaveAttribute("data-count", "2");
  await screenshots(page, testInfo, "failure-groups-searched");

  // One group's purge, within the search: exactly its 2, asked first.
  await hexGroup.getByRole("button", { name: "Purge the 2 failing with object <hex> not found in store" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText(`Delete 2 messages from ${dlq}?`);
  await expect(dialog).toContainText("matching “shard-1”, failing with “object <hex> not found in store”");
  await expect(dialog.getByTestId("bulk-sample").locator("tbody tr")).toHaveCount(2);
  await screenshots(page, testInfo, "group-purge-confirm");
  await dialog.getByRole("button", { name: "Delete 2 messages" }).click();
  const progress = page.getByTestId("job-progress");
  await expect(progress).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(progress.getByRole("status")).toHaveText("Deleted 2 of 2. Done.");
  expect(await queue.inspect.countDlq({ topic: dlq, failureGroup: "object <hex> not found in store" })).toBe(2);
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(20);

  // Another group's requeue, over the whole DLQ: all 12, consumed once healed.
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(timeout).toHaveAttribute("data-count", "12");
  heal(healKey);
  await timeout.getByRole("button", { name: "Requeue the 12 failing with upstream timeout after <n>ms" }).click();
  await expect(dialog.getByRole("heading")).toHaveText(`Requeue 12 messages from ${dlq}?`);
  await expect(dialog.getByTestId("bulk-sample").locator("tbody tr")).toHaveCount(5);
  await dialog.getByRole("button", { name: "Requeue 12 messages" }).click();
  await expect(progress).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(progress.getByRole("status")).toHaveText("Requeued 12 of 12. Done.");
  await expect(timeout).toHaveCount(0);
  await expect(utf8).toHaveAttribute("data-count", "6");
  await expect
    .poll(() => consumedIds(topic).filter((id) => id.startsWith(`groups-${run}-0-`)).length, { timeout: 60_000 })
    .toBe(12);
  await screenshots(page, testInfo, "group-requeued");

  // Both are in the audit log with what moved and the filter they covered.
  await page.goto("/audit?action=dlq.purge");
  const purgeRow = page.getByTestId("audit-table").locator("tbody tr").first();
  await expect(purgeRow.getByTestId("audit-job")).toHaveAttribute("data-state", "done");
  await expect(purgeRow.getByTestId("audit-job").getByRole("link")).toHaveText(
    `${dlq} matching “shard-1”, failing with “object <hex> not found in store”`,
  );
  await expect(purgeRow.locator("td.num")).toHaveText("2");
});
