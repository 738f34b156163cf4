// Flows 3-5, the dead-letter queue: a failing message lands there with its
// reason and payload, is found by its error text and requeued (then
// consumed); "Requeue all matching" moves exactly what the filter matches,
// with progress, after a confirmation showing the count; purge deletes only
// after a confirmation showing the count.
import { expect, type Page, test } from "@playwright/test";
import type { Queue } from "@/server/queue";
import { CONSUMER_GROUP, type E2ePayload } from "./env";
import { consumedIds, heal, openQueue, runId, screenshot } from "./queue-helpers";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

const json = (p: E2ePayload) => JSON.stringify(p);

/** Waits until the test consumer has dead-lettered `n` rows matching `search` in `dlqTopic`. */
async function deadLettered(dlqTopic: string, n: number, search?: string) {
  await expect
    .poll(() => queue.inspect.countDlq({ topic: dlqTopic, ...(search ? { search } : {}) }), { timeout: 60_000 })
    .toBe(n);
}

async function searchDlq(page: Page, text: string) {
  await page.getByLabel("Search").fill(text);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`[?&]q=${encodeURIComponent(text).replaceAll("%20", "(\\+|%20)")}`));
}

test("a failing message lands in the DLQ with its reason and payload, is found by its error, and requeued", async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  const topic = "e2e.failing";
  const dlq = `${topic}_dlq`;
  const run = runId();
  const id = `order-${run}`;
  const reason = `payment declined: card 4242 expired (${run})`;
  await queue.publisher.publish(topic, [
    { id, partitionKey: "customer-42", payload: json({ fail: reason, order: 4242, amount: 19.99 }) },
    // A neighbour with another error, which the search must not show.
    { id: `other-${run}`, partitionKey: "customer-7", payload: json({ fail: `inventory service down (${run})` }) },
  ]);
  await deadLettered(dlq, 2);

  await page.goto(`/dlq?topic=${dlq}`);
  const row = page.locator(`tr[data-message-id="${id}"]`);
  await expect(row.locator('[data-col="reason"]')).toHaveText(reason);
  await expect(row).toContainText(CONSUMER_GROUP);
  await expect(page.locator(`tr[data-message-id="other-${run}"]`)).toBeVisible();

  // Search by a piece of the error text: only the declined payment remains.
  await searchDlq(page, "card 4242 EXPIRED");
  await expect(page.getByTestId("dlq-table").locator("tbody tr")).toHaveCount(1);
  await expect(row).toBeVisible();

  // Its detail: reason, where it failed, payload pretty-printed.
  await row.getByRole("link", { name: id }).click();
  const detail = page.getByTestId("dlq-detail");
  await expect(detail.getByTestId("dlq-detail-reason")).toHaveText(reason);
  await expect(detail.getByTestId("payload")).toHaveText(
    `{\n  "fail": "${reason}",\n  "order": 4242,\n  "amount": 19.99\n}`,
  );
  await screenshot(page, testInfo, "dlq-failed-message");

  // The handler is fixed; requeue sends it back, it is consumed, and it leaves the DLQ.
  heal(id);
  expect(consumedIds(topic)).not.toContain(id);
  await detail.getByRole("button", { name: "Requeue" }).click();
  await expect(detail.getByRole("status")).toContainText("Requeued to e2e.failing");
  await expect.poll(() => consumedIds(topic), { timeout: 20_000 }).toContain(id);
  await expect(row).toHaveCount(0);
  await expect(page.getByText("No dead letters match this filter.")).toBeVisible();
  expect(await queue.inspect.countDlq({ topic: dlq, search: id })).toBe(0);
  // The neighbour is still there.
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(1);
  await screenshot(page, testInfo, "dlq-requeued");
});

test("requeue all matching moves exactly the 480 the filter matches, with progress; the other 20 stay", async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  const topic = "e2e.bulk";
  const dlq = `${topic}_dlq`;
  const run = runId();
  const healKey = `bulk-${run}`;
  await queue.publisher.publish(
    topic,
    Array.from({ length: 500 }, (_, i) => ({
      id: `bulk-${run}-${i}`,
      partitionKey: `shard-${i % 25}`,
      payload: json(
        i < 480
          ? { fail: `upstream timeout after ${1000 + i} ms`, heal: healKey }
          : { fail: `malformed payload at byte ${i}` },
      ),
    })),
  );
  await deadLettered(dlq, 500);
  expect(await queue.inspect.countDlq({ topic: dlq, search: "upstream timeout" })).toBe(480);

  await page.goto(`/dlq?topic=${dlq}`);
  // The failures are grouped by their normalised reason.
  const groups = page.getByTestId("failure-groups");
  await expect(groups).toContainText("upstream timeout after <n> ms");
  await expect(groups).toContainText("malformed payload at byte <n>");

  await searchDlq(page, "upstream timeout");
  const requeueAll = page.getByRole("button", { name: "Requeue all matching (480)" });
  await expect(requeueAll).toBeEnabled({ timeout: 15_000 });
  heal(healKey);
  // 50 per second: about ten seconds, so the progress is visible on the way.
  await page.getByLabel("Requeue rate").selectOption("50");
  await requeueAll.click();
  // It asks first, with the count; the rate chosen is the one it will use.
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText(`Requeue 480 messages from ${dlq}?`);
  await expect(dialog).toContainText("50 a second");
  await dialog.getByRole("button", { name: "Requeue 480 messages" }).click();
  await expect(dialog).toHaveCount(0);

  const progress = page.getByTestId("job-progress");
  await expect(progress).toBeVisible();
  await expect(progress.getByRole("progressbar")).toBeVisible();
  await expect(progress.getByRole("status")).toContainText(/Requeued \d+ of 480/);
  await expect(progress).toHaveAttribute("data-state", "running");
  await screenshot(page, testInfo, "dlq-requeue-progress");
  await expect(progress).toHaveAttribute("data-state", "done", { timeout: 60_000 });
  await expect(progress.getByRole("status")).toHaveText("Requeued 480 of 480. Done.");

  // Exactly the 480 moved (and were consumed); the 20 others stay.
  expect(await queue.inspect.countDlq({ topic: dlq, search: "upstream timeout" })).toBe(0);
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(20);
  expect(await queue.inspect.countDlq({ topic: dlq, search: "malformed payload" })).toBe(20);
  await expect
    .poll(() => new Set(consumedIds(topic).filter((id) => id.startsWith(`bulk-${run}-`))).size, { timeout: 60_000 })
    .toBe(480);
  await expect(page.getByText("No dead letters match this filter.")).toBeVisible();
  await page.getByRole("button", { name: "Clear filters" }).click();
  await expect(page.getByTestId("dlq-table").locator("tbody tr")).toHaveCount(20);
  await screenshot(page, testInfo, "dlq-requeue-done");
});

test("purge shows the exact count first and deletes only after confirmation", async ({ page }, testInfo) => {
  test.setTimeout(90_000);
  const topic = "e2e.purge";
  const dlq = `${topic}_dlq`;
  const run = runId();
  await queue.publisher.publish(
    topic,
    Array.from({ length: 23 }, (_, i) => ({
      id: `purge-${run}-${i}`,
      partitionKey: `k${i % 4}`,
      payload: json({ fail: i < 20 ? `obsolete event v1 #${i}` : `still needed #${i}` }),
    })),
  );
  await deadLettered(dlq, 23);

  await page.goto(`/dlq?topic=${dlq}`);
  await searchDlq(page, "obsolete event");
  await expect(page.getByRole("button", { name: "Requeue all matching (20)" })).toBeVisible({ timeout: 15_000 });

  await page.getByRole("button", { name: "Purge matching…" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText(`Delete 20 messages from ${dlq}?`);
  await screenshot(page, testInfo, "dlq-purge-confirm");
  // Asking deleted nothing; neither does saying no.
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(23);
  await dialog.getByRole("button", { name: "Keep them" }).click();
  await expect(dialog).toHaveCount(0);
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(23);

  await page.getByRole("button", { name: "Purge matching…" }).click();
  await expect(dialog.getByRole("heading")).toHaveText(`Delete 20 messages from ${dlq}?`);
  await dialog.getByRole("button", { name: "Delete 20 messages" }).click();
  await expect(dialog).toHaveCount(0);
  const progress = page.getByTestId("job-progress");
  await expect(progress).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(progress.getByRole("status")).toHaveText("Deleted 20 of 20. Done.");
  expect(await queue.inspect.countDlq({ topic: dlq })).toBe(3);
  expect(await queue.inspect.countDlq({ topic: dlq, search: "still needed" })).toBe(3);
  await expect(page.getByText("No dead letters match this filter.")).toBeVisible();
  // Deleted, not requeued: the consumer never saw them again.
  expect(consumedIds(topic).filter((id) => id.startsWith(`purge-${run}-`))).toEqual([]);
  await screenshot(page, testInfo, "dlq-purged");
});
