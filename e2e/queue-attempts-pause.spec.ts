// Issue 13 items 2 and 3 in the browser: a message's attempt history (a
// nacked-then-acked message, one whose visibility timeout expired, one
// waiting for its retry) and the topic's list agreeing with it (a rejected
// message reads dead), and pausing one consumer group of a topic from its
// page while another group of the same topic goes on. Screenshots at 1280
// and 390 px, light and dark, are kept as test artifacts.
import { expect, test } from "@playwright/test";
import { messageHref, topicHref } from "@/components/queue/hrefs";
import type { Delivery, Queue, Subscription } from "@/server/queue";
import { E2E_USERS } from "./env";
import { keepMessages, openQueue, runId } from "./queue-helpers";
import { shots } from "./shots";

let queue: Queue;
const subs: Subscription[] = [];
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await Promise.all(subs.map((s) => s.close()));
  await queue.close();
});

function subscribe(topic: string, group: string, opts: { visibilityTimeoutMs?: number } = {}) {
  const sub = queue.subscriber.subscribe(topic, {
    subscriberName: `e2e-${group}`,
    consumerGroup: group,
    pollIntervalMs: 50,
    batchSize: 1,
    ...opts,
  });
  subs.push(sub);
  return sub[Symbol.asyncIterator]();
}

/** The next delivery, or a failure naming what was awaited once `ms` passed. */
async function next(it: AsyncIterator<Delivery>, what: string, ms = 20_000): Promise<Delivery> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    if (r.done) throw new Error(`the subscription ended waiting for ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

test("a message's detail shows every attempt with its outcome, reason, subscriber and the next retry", async ({
  page,
}, testInfo) => {
  const topic = `e2e.attempts.${runId()}`;
  // The pages below read messages group g has finished: garbage collection must not take them first.
  await keepMessages(queue, topic);
  const it = subscribe(topic, "g", { visibilityTimeoutMs: 1_000 });
  await queue.publisher.publish(
    topic,
    ["flaky", "stuck", "later", "bad"].map((id) => ({ id, partitionKey: id, payload: JSON.stringify({ id }) })),
  );
  // flaky: nacked, then acked. stuck: left until its visibility timeout passes, then acked.
  // later: nacked with an hour's delay, so its next attempt is ahead. bad: rejected.
  const done = new Set<string>();
  while (done.size < 4) {
    const d = await next(it, `the deliveries (done: ${[...done].join(", ")})`);
    const id = d.message.id;
    if (id === "flaky" && d.attempt === 1) await d.nack({ reason: "upstream answered 503" });
    else if (id === "bad") {
      await d.reject("malformed payload");
      done.add(id);
    } else if (id === "later") {
      await d.nack({ reason: "rate limited by the upstream", requeueAfterMs: 3_600_000 });
      done.add(id);
    } else if (id === "stuck" && d.attempt === 1) {
      // Not settled: the visibility timeout hands it out again.
    } else {
      await d.ack();
      done.add(id);
    }
  }

  // The web server's worker collects garbage every 30 s; a run here, now that g has finished
  // flaky, stuck and bad, takes nothing while the keeper group has passed nothing.
  await queue.admin.collectGarbage();

  await page.goto(messageHref(topic, "flaky", 1));
  await expect(page.getByRole("heading", { level: 1 })).toContainText("flaky");
  const history = page.getByTestId("attempt-history").locator('section[data-group="g"]');
  const rows = history.getByTestId("attempts-table").locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute("data-outcome", "nacked");
  await expect(rows.nth(0)).toContainText("upstream answered 503");
  await expect(rows.nth(0)).toContainText("e2e-g");
  await expect(rows.nth(1)).toHaveAttribute("data-outcome", "acked");
  await expect(history).toContainText("(2 attempts)");
  // The group's summary row agrees: two attempts, a first delivery time.
  await expect(page.getByTestId("message-groups").locator('tr[data-group="g"] td').nth(2)).toHaveText("2");
  await shots(page, testInfo, "attempts-nacked-then-acked");

  await page.goto(messageHref(topic, "stuck", 1));
  const stuck = page
    .getByTestId("attempt-history")
    .locator('section[data-group="g"]')
    .getByTestId("attempts-table")
    .locator("tbody tr");
  await expect(stuck).toHaveCount(2);
  await expect(stuck.nth(0)).toHaveAttribute("data-outcome", "expired");
  await expect(stuck.nth(0)).toContainText("visibility timeout expired");
  await expect(stuck.nth(1)).toHaveAttribute("data-outcome", "acked");
  await shots(page, testInfo, "attempts-expired");

  await page.goto(messageHref(topic, "later", 1));
  const later = page.getByTestId("attempt-history").locator('section[data-group="g"]');
  await expect(later.getByTestId("next-attempt")).toHaveText(/Next attempt in (59|60) min/);
  await expect(later.locator("tbody tr").first()).toContainText("rate limited by the upstream");
  await shots(page, testInfo, "attempts-retrying");

  // The topic's list agrees with the details: real attempt counts, and the rejected message is dead.
  await page.goto(topicHref(topic, { group: "g" }));
  const listed = page.getByTestId("messages-table");
  await expect(listed.locator('tr[data-message-id="flaky"] td').nth(3)).toHaveText("done");
  await expect(listed.locator('tr[data-message-id="flaky"] td').nth(4)).toHaveText("2");
  await expect(listed.locator('tr[data-message-id="bad"] td').nth(3)).toHaveText("dead");
  await expect(listed.locator('tr[data-message-id="bad"] td').nth(4)).toHaveText("1");
  // The Dead tab lists what the group dead-lettered, and only that.
  await page.getByRole("tab", { name: "Dead" }).click();
  await expect(page).toHaveURL(/state=dead/);
  await expect(listed.locator("tbody tr")).toHaveCount(1);
  await expect(listed.locator("tbody tr").first()).toHaveAttribute("data-message-id", "bad");
  // Like Done, it is a bounded scan, and says how far back it looked.
  await expect(page.getByRole("region", { name: "Messages" })).toContainText("newest messages looked at");
});

test("a paused group gets no deliveries while another group of the same topic does; resumed, it catches up", async ({
  page,
}, testInfo) => {
  const topic = `e2e.pause.${runId()}`;
  const paused = subscribe(topic, "reports");
  const running = subscribe(topic, "billing");
  await queue.publisher.publish(topic, { id: "warm-up", partitionKey: "k", payload: "{}" });
  await (await next(paused, "the warm-up in reports")).ack();
  await (await next(running, "the warm-up in billing")).ack();

  await page.goto(topicHref(topic));
  const row = (group: string) => page.getByTestId("topic-groups").locator(`tr[data-group="${group}"]`);
  await row("reports").getByRole("button", { name: "Pause" }).click();
  // The confirm step opens on its safe choice.
  await expect(row("reports").getByRole("button", { name: "Cancel" })).toBeFocused();
  await row("reports").getByRole("button", { name: "Pause reports" }).click();
  await expect(row("reports").getByTestId("paused-badge")).toBeVisible();
  await expect(row("reports")).toContainText(`by ${E2E_USERS.operator.username}`);
  await expect(row("billing").getByTestId("pause-control")).toContainText("running");

  let reportsGot: string | undefined;
  const waiting = paused.next().then((r) => {
    if (!r.done) reportsGot = r.value.message.id;
    return r;
  });
  const ids = Array.from({ length: 5 }, (_, i) => `order-${i}`);
  await queue.publisher.publish(
    topic,
    ids.map((id) => ({ id, partitionKey: "k", payload: "{}" })),
  );
  const billed: string[] = [];
  for (const id of ids) {
    const d = await next(running, `${id} in billing`);
    billed.push(d.message.id);
    await d.ack();
  }
  expect(billed).toEqual(ids);
  // billing is caught up, reports is not, and its subscriber was handed nothing.
  await expect(row("billing").locator("td").nth(1)).toHaveText("0");
  await expect(row("reports").locator("td").nth(1)).toHaveText("5");
  const m = await queue.inspect.getAttempts(topic, "k", 2);
  expect(m?.groups.find((g) => g.group === "reports")?.history).toEqual([]);
  expect(reportsGot).toBeUndefined();
  await shots(page, testInfo, "pause-paused");

  await row("reports").getByRole("button", { name: "Resume" }).click();
  await expect(row("reports").getByTestId("pause-control")).toContainText("running");
  const first = await waiting;
  if (first.done) throw new Error("the reports subscription ended");
  const reported = [first.value.message.id];
  await first.value.ack();
  while (reported.length < ids.length) {
    const d = await next(paused, "the rest in reports");
    reported.push(d.message.id);
    await d.ack();
  }
  expect(reported).toEqual(ids);
  await expect(row("reports").locator("td").nth(1)).toHaveText("0");
  await shots(page, testInfo, "pause-resumed");

  await page.goto("/audit?action=queue.pause");
  await expect(page.getByRole("main")).toContainText(topic);
});
