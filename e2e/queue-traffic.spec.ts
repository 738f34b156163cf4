// Issue 13 item 1 in the browser: traffic over time. The charts of a topic
// page, the overview's sparklines and the DLQ's inflow show the traffic this
// test makes while the pages are open (live, no reload), each minute's exact
// count on hover, lag sampled by the worker's garbage collection, and a
// range switch. Screenshots at 1280 and 390 px, light and dark.
import { expect, type Locator, type Page, test } from "@playwright/test";
import { minuteOf } from "@/components/charts/time-chart";
import { topicHref } from "@/components/queue/hrefs";
import type { Queue } from "@/server/queue";
import { nextDelivery } from "@/tests/helpers/wait";
import { openQueue, runId } from "./queue-helpers";
import { shots } from "./shots";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
// Closing the queue ends its subscriptions too.
test.afterAll(() => queue.close());

function subscribe(topic: string, group: string) {
  return queue.subscriber.subscribe(topic, {
    subscriberName: `e2e-${group}`,
    consumerGroup: group,
    pollIntervalMs: 50,
  });
}

const messages = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({
    id: `m${from + i}`,
    partitionKey: `k${(from + i) % 3}`,
    payload: "{}",
  }));

/** The page is no wider than the window. */
async function expectNoPageScroll(page: Page) {
  await expect
    .poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth))
    .toBeLessThanOrEqual(0);
}

/**
 * Points at the minute of `chart` where `values` (the library's own numbers)
 * peak and expects the readout to give that minute and that exact value.
 */
async function hoverPeak(
  page: Page,
  chart: Locator,
  label: string,
  series: () => Promise<{ from: number; values: number[] }>,
) {
  await expect(async () => {
    const { from, values } = await series();
    const peak = values.reduce((best, v, i) => (v > (values[best] ?? 0) ? i : best), 0);
    await chart.scrollIntoViewIfNeeded();
    const box = await chart.locator(".u-over").boundingBox();
    if (!box) throw new Error("the chart has no plot area");
    // Each minute has a band of the plot's width (a sparkline's are two pixels wide), and the
    // pointer lands on whole pixels: the band's middle, else the pixels beside it.
    const minute = minuteOf(from + peak * 60_000);
    const readout = chart.getByTestId("chart-readout");
    const x = (box.width * (peak + 0.5)) / values.length;
    for (const nudge of [0, -1, 1]) {
      const at = Math.min(Math.max(x + nudge, 0), box.width - 1);
      await page.mouse.move(box.x + at, box.y + box.height / 2);
      const there = await expect(readout.locator(".chart-time"))
        .toHaveText(minute, { timeout: 300 })
        .then(
          () => true,
          () => false,
        );
      if (there) break;
    }
    await expect(readout.locator(".chart-time")).toHaveText(minute, { timeout: 1_000 });
    await expect(readout.locator(`[data-series="${label}"] strong`)).toHaveText(String(values[peak]), {
      timeout: 1_000,
    });
  }).toPass({ timeout: 15_000 });
}

test("the charts show the traffic made during the test, live, with each minute's exact count on hover", async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  const topic = `e2e.traffic.${runId()}`;
  const it = subscribe(topic, "g")[Symbol.asyncIterator]();
  // A group that registers now and never finishes anything: its lag, sampled by the worker's
  // garbage collection, is charted below. Registered before the traffic, it also keeps
  // garbage collection from taking rows under it, so its lag is all 12 messages.
  const behind = subscribe(topic, "behind");
  await queue.publisher.publish(topic, messages(0, 2));
  await nextDelivery(behind[Symbol.asyncIterator](), "the behind group's first delivery");
  await behind.close();

  // The page is open before most of the traffic: what follows arrives by live refresh.
  await page.goto(topicHref(topic, { group: "g" }));
  const panel = page.getByTestId("traffic-panel");
  const throughput = panel.getByTestId("chart-throughput");
  await expect(throughput.locator("figcaption")).toContainText("2 published, 0 acked, 0 nacked, 0 dead-lettered");

  await queue.publisher.publish(topic, messages(2, 12));
  // m0-m7 acked, m8 and m9 nacked for an hour, m10 and m11 rejected to the DLQ.
  for (let done = 0; done < 12; done++) {
    const d = await nextDelivery(it, `delivery ${done + 1} of 12`);
    const n = Number(d.message.id.slice(1));
    if (n < 8) await d.ack();
    else if (n < 10) await d.nack({ requeueAfterMs: 3_600_000, reason: "later" });
    else await d.reject("poison");
  }
  await expect(throughput.locator("figcaption")).toContainText(
    "In the last hour: 12 published, 8 acked, 2 nacked, 2 dead-lettered",
  );
  const traffic = (group?: string) => queue.inspect.traffic(topic, { group, range: "1h" });
  await hoverPeak(page, throughput, "published", async () => {
    const t = await traffic("g");
    return { from: t.from, values: t.published };
  });
  await hoverPeak(page, throughput, "acked", async () => {
    const t = await traffic("g");
    return { from: t.from, values: t.acked };
  });

  // The day holds the same traffic.
  await panel.getByRole("button", { name: "24 h" }).click();
  await expect(panel.getByRole("button", { name: "24 h" })).toHaveAttribute("aria-pressed", "true");
  await expect(throughput.locator("figcaption")).toContainText(
    "In the last 24 hours: 12 published, 8 acked, 2 nacked, 2 dead-lettered",
  );
  await panel.getByRole("button", { name: "1 h" }).click();

  // The group that never finished anything. Garbage collection samples every group's lag (the
  // worker's every 30 s; this run makes the sample now) and takes no row while behind holds them.
  await queue.admin.collectGarbage();
  await page.getByTestId("topic-groups").getByRole("button", { name: "behind" }).click();
  await expect(panel).toContainText("group behind");
  await expect(panel.getByTestId("chart-lag").locator("figcaption")).toContainText("Latest 12 messages", {
    timeout: 75_000,
  });
  await page.getByTestId("topic-groups").getByRole("button", { name: "g", exact: true }).click();
  await expect(throughput.locator("figcaption")).toContainText("8 acked");
  await expectNoPageScroll(page);
  await shots(page, testInfo, "traffic-topic");
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoPageScroll(page);
  await page.setViewportSize({ width: 1280, height: 720 });

  // The overview: a sparkline per row, with the hovered minute's count.
  await page.goto("/");
  const row = page.locator(`tr[data-group-of="${topic}"][data-group="g"]`);
  const spark = row.getByTestId("sparkline");
  await expect(spark.getByTestId("chart-readout")).toHaveText("12 published · 8 acked /h");
  await hoverPeak(page, spark, "acked", async () => {
    const t = await traffic("g");
    return { from: t.from, values: t.acked };
  });
  // Unscrolled and unhovered for the pictures.
  await page.reload();
  await expect(spark.getByTestId("chart-readout")).toHaveText("12 published · 8 acked /h");
  await shots(page, testInfo, "traffic-overview");

  // The DLQ page: the dead letters flowing in.
  await page.goto(`/dlq?topic=${encodeURIComponent(`${topic}_dlq`)}`);
  const inflow = page.getByTestId("dlq-inflow").getByTestId("chart-dlq-inflow");
  await expect(inflow.locator("figcaption")).toContainText("In the last hour: 2 dead-lettered");
  await hoverPeak(page, inflow, "dead-lettered", async () => {
    const t = await queue.inspect.traffic(`${topic}_dlq`, { range: "1h" });
    return { from: t.from, values: t.published };
  });
  await shots(page, testInfo, "traffic-dlq");
});
