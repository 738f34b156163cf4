// Flow 2: a message published with a 5 s delay shows under Deferred counting
// down, then leaves and is consumed by the test consumer; "Deliver now" on a
// long-delayed one gets it consumed at once.
import { expect, test } from "@playwright/test";
import type { Queue } from "@/server/queue";
import { consumedIds, openQueue, runId, screenshot } from "./queue-helpers";

const TOPIC = "e2e.deferred";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

test("a delayed message counts down under Deferred, then is consumed; deliver now skips the wait", async ({
  page,
}, testInfo) => {
  test.setTimeout(90_000);
  const run = runId();
  const soon = `soon-${run}`;
  const later = `later-${run}`;
  await queue.publisher.publishAfter(TOPIC, { id: soon, partitionKey: "p1", payload: '{"n":1}' }, 5_000);
  await queue.publisher.publishAfter(TOPIC, { id: later, partitionKey: "p2", payload: '{"n":2}' }, 600_000);

  await page.goto(`/deferred?topic=${TOPIC}`);
  const soonRow = page.locator(`tr[data-message-id="${soon}"]`);
  const laterRow = page.locator(`tr[data-message-id="${later}"]`);
  await expect(soonRow).toBeVisible();
  await expect(laterRow).toBeVisible();
  // Counting down: seconds left, and fewer a moment later (no reload in between).
  const left = soonRow.locator('[data-col="time-left"] .countdown');
  await expect(left).toHaveText(/^\d(\.\d)? s$/);
  const first = Number(await left.getAttribute("data-remaining-ms"));
  expect(first).toBeGreaterThan(0);
  expect(first).toBeLessThanOrEqual(5_000);
  await expect.poll(async () => Number(await left.getAttribute("data-remaining-ms"))).toBeLessThan(first);
  await screenshot(page, testInfo, "deferred-countdown");

  // Its time comes: it leaves Deferred on the page and the consumer gets it; not consumed before.
  expect(consumedIds(TOPIC)).not.toContain(soon);
  await expect(soonRow).toHaveCount(0, { timeout: 20_000 });
  await expect.poll(() => consumedIds(TOPIC), { timeout: 20_000 }).toContain(soon);

  // The long one would wait ten minutes: deliver it now.
  expect(consumedIds(TOPIC)).not.toContain(later);
  await laterRow.getByRole("button", { name: "Deliver now" }).click();
  await expect(page.getByTestId("deliver-result")).toHaveText("1 message delivered now.");
  await expect(laterRow).toHaveCount(0);
  await expect.poll(() => consumedIds(TOPIC), { timeout: 15_000 }).toContain(later);
  await expect(page.getByText("No deferred messages in e2e.deferred")).toBeVisible();
  await screenshot(page, testInfo, "deferred-delivered");
});
