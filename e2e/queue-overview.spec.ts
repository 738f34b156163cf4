// Flow 1: the overview lists every topic with the counts the test published,
// and a topic's page shows its partitions, messages and a message's payload.
import { expect, test } from "@playwright/test";
import type { Queue } from "@/server/queue";
import { openQueue, runId, screenshot } from "./queue-helpers";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

test("the overview lists topics with the counts that were published", async ({ page }, testInfo) => {
  const run = runId();
  const alpha = `e2e.ov.alpha.${run}`;
  const beta = `e2e.ov.beta.${run}`;
  // alpha: 7 messages over 3 partitions; beta: 3 now and 2 deferred for an hour.
  await queue.publisher.publish(
    alpha,
    Array.from({ length: 7 }, (_, i) => ({
      id: `a${i}`,
      partitionKey: `customer-${i % 3}`,
      payload: JSON.stringify({ order: i, sku: "SKU-1" }),
      metadata: { source: "e2e" },
    })),
  );
  await queue.publisher.publish(
    beta,
    Array.from({ length: 3 }, (_, i) => ({ id: `b${i}`, partitionKey: "only", payload: `plain text ${i}` })),
  );
  for (const id of ["later-1", "later-2"]) {
    await queue.publisher.publishAfter(beta, { id, partitionKey: "only", payload: "later" }, 3_600_000);
  }

  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Overview");
  const row = (topic: string) => page.locator(`tr[data-topic="${topic}"]`);
  await expect(row(alpha).locator('[data-col="partitions"]')).toHaveText("3");
  await expect(row(alpha).locator('[data-col="messages"]')).toHaveText("7");
  await expect(row(alpha).locator('[data-col="deferred"]')).toHaveText("0");
  await expect(row(alpha).locator('[data-col="dlq"]')).toHaveText("—");
  await expect(row(beta).locator('[data-col="partitions"]')).toHaveText("1");
  await expect(row(beta).locator('[data-col="messages"]')).toHaveText("5");
  await expect(row(beta).locator('[data-col="deferred"]')).toHaveText("2");
  // The test consumer (and the web server's pipeline worker) heartbeat: at least one process is alive.
  await expect(page.getByTestId("workers-alive").locator(".card-value")).toHaveText(/^[1-9]\d*$/, {
    timeout: 20_000,
  });
  await expect(page.getByTestId("builds-by-status")).toBeVisible();
  await screenshot(page, testInfo, "overview");

  // Into the topic: its partitions and newest-first messages, then one message's pretty payload.
  await row(alpha).getByRole("link", { name: alpha }).click();
  await expect(page).toHaveURL(new RegExp(`/topics/${alpha.replaceAll(".", "\\.")}`));
  await expect(page.getByTestId("partitions-table").locator("tbody tr")).toHaveCount(3);
  await expect(page.getByTestId("messages-table").locator("tbody tr")).toHaveCount(7);
  await expect(page.getByTestId("messages-table").locator("tbody tr").first()).toHaveAttribute("data-message-id", "a6");
  await screenshot(page, testInfo, "topic");
  await page.getByTestId("messages-table").getByRole("link", { name: "a6" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText("a6");
  await expect(page.getByTestId("payload")).toHaveText('{\n  "order": 6,\n  "sku": "SKU-1"\n}');
  await expect(page.getByTestId("payload")).toHaveAttribute("data-kind", "json");
  await expect(page.getByTestId("metadata")).toContainText("source");
  await screenshot(page, testInfo, "message");
});
