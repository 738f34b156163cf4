// Issue 13, items 5-8: the console at every width and in both schemes,
// honest about its liveness, usable from the keyboard, and truthful in the
// small things (deferred times, requester, bad addresses, filters, links).
// Each flow leaves screenshots at 1280 px and 390 px, light and dark.
import { type Browser, expect, type Page, test } from "@playwright/test";
import type { Queue } from "@/server/queue";
import { type E2ePayload, storageStatePath } from "./env";
import { consumedIds, heal, openQueue, runId } from "./queue-helpers";
import { shots } from "./shots";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

const json = (p: E2ePayload) => JSON.stringify(p);
/** The test consumer's topic of this spec alone: its dead letters and messages stay out of the other specs' counts. */
const UI = "e2e.ui";
/** The page is no wider than the window: wide tables scroll inside their own box. */
async function expectNoPageScroll(page: Page) {
  await expect
    .poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth))
    .toBeLessThanOrEqual(0);
}

/** Nothing on the page reaches past the window's right edge, except inside a box that scrolls. */
async function expectWithinWindow(page: Page) {
  const outside = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const scrolls = (el: Element | null): boolean => {
      for (let e = el; e; e = e.parentElement) {
        const o = getComputedStyle(e).overflowX;
        if (o === "auto" || o === "scroll" || o === "hidden") return true;
      }
      return false;
    };
    return [...document.querySelectorAll("main button, main input, main select, main a, main h1, main h2, main p")]
      .filter((el) => el.getBoundingClientRect().right > width + 1 && !scrolls(el.parentElement))
      .map((el) => el.outerHTML.slice(0, 80));
  });
  expect(outside).toEqual([]);
}

const bodyBackground = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const LIGHT_BG = "rgb(245, 246, 248)";
const DARK_BG = "rgb(13, 17, 23)";

async function deadLetter(topic: string, id: string, reason: string, partitionKey = "ui") {
  await queue.publisher.publish(topic, [{ id, partitionKey, payload: json({ fail: reason }) }]);
  await expect.poll(() => queue.inspect.countDlq({ topic: `${topic}_dlq`, search: id }), { timeout: 60_000 }).toBe(1);
}

async function newOperatorPage(browser: Browser) {
  const context = await browser.newContext({ storageState: storageStatePath("operator") });
  return { context, page: await context.newPage() };
}

test.describe("5. every width, both schemes", () => {
  test("the scheme follows the system until the operator picks one, which this browser keeps, painted before any script loads", async ({
    page,
    context,
    browser,
  }, testInfo) => {
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto("/");
    const toggle = page.getByRole("group", { name: "Colour scheme" });
    await expect(toggle.getByRole("button", { name: "System" })).toHaveAttribute("aria-pressed", "true");
    expect(await bodyBackground(page)).toBe(DARK_BG);
    await page.emulateMedia({ colorScheme: "light" });
    expect(await bodyBackground(page)).toBe(LIGHT_BG);

    // Picked: dark, whatever the system says.
    await toggle.getByRole("button", { name: "Dark" }).click();
    await expect(toggle.getByRole("button", { name: "Dark" })).toHaveAttribute("aria-pressed", "true");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    expect(await bodyBackground(page)).toBe(DARK_BG);

    // Kept in this browser, and there before the first paint: with every script bundle
    // refused (React never runs), the stored choice is already applied by the inline boot script.
    const other = await context.newPage();
    // Scripts only: a Turbopack build serves the stylesheets from the same chunks folder.
    await other.route("**/_next/static/**", (route) =>
      route.request().resourceType() === "script" ? route.abort() : route.continue(),
    );
    await other.emulateMedia({ colorScheme: "light" });
    await other.goto("/workers");
    await expect(other.locator("html")).toHaveAttribute("data-theme", "dark");
    expect(await bodyBackground(other)).toBe(DARK_BG);
    await other.close();

    // Another browser has its own choice (none: the system's).
    const fresh = await newOperatorPage(browser);
    await fresh.page.emulateMedia({ colorScheme: "light" });
    await fresh.page.goto("/");
    await expect(fresh.page.locator("html")).not.toHaveAttribute("data-theme", /.+/);
    expect(await bodyBackground(fresh.page)).toBe(LIGHT_BG);
    await fresh.context.close();

    // Back to the system's.
    await toggle.getByRole("button", { name: "System" }).click();
    await expect(page.locator("html")).not.toHaveAttribute("data-theme", /.+/);
    expect(await page.evaluate(() => localStorage.getItem("sluice-theme"))).toBeNull();
    await shots(page, testInfo, "overview");
  });

  test("at 390 px no page is wider than the window, DLQ actions are reachable, and audit targets wrap", async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const run = runId();
    const id = `narrow-${run}-with-a-rather-long-message-id-0123456789`;
    const reason = `upstream gateway answered 503 Service Unavailable after 30000 ms on attempt 3 (${run})`;
    const pk = `customer-with-a-long-partition-key-${run}`;
    await deadLetter(UI, id, reason, pk);
    const narrow = `e2e.ui.narrow.${run}`;
    await queue.publisher.publish(narrow, [{ id: "m1", partitionKey: "k", payload: json({ note: "one message" }) }]);
    await queue.publisher.publishAfter(
      narrow,
      { id: `narrow-deferred-${run}`, partitionKey: "p-narrow", payload: "{}" },
      3_600_000,
    );

    await page.setViewportSize({ width: 390, height: 844 });
    // Each page with what shows that its data is in (a wide table is what could widen it).
    const pages: Array<[string, string]> = [
      ["/", "topics-table"],
      ["/topics", "topics-table"],
      [`/topics/${UI}`, "partitions-table"],
      [`/topics/${narrow}/message?pk=k&seq=1`, "payload"],
      ["/deferred", "deferred-table"],
      ["/dlq?topic=e2e.ui_dlq", "dlq-table"],
      ["/builds", "builds-count"],
      ["/builds/new", "requester"],
      ["/workers", "workers-table"],
      ["/audit", "audit-table"],
    ];
    for (const [path, ready] of pages) {
      await page.goto(path);
      // Audit and builds may have no rows yet in a fresh run: their empty notes count as loaded.
      await expect(page.getByTestId(ready).or(page.locator(".empty")).first()).toBeVisible();
      await expectNoPageScroll(page);
      await expectWithinWindow(page);
    }

    // The DLQ at 390 px: the bulk actions are inside the window, and a row's own Requeue is reached by scrolling its table.
    await page.goto(`/dlq?topic=e2e.ui_dlq&q=${run}`);
    const row = page.locator(`tr[data-message-id="${id}"]`);
    await expect(row).toBeVisible();
    for (const name of [/Requeue selected/, /Requeue all matching/, /Purge matching/]) {
      const box = await page.getByRole("button", { name }).boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
    }
    await shots(page, testInfo, "dlq");
    heal(id);
    await row.getByRole("button", { name: "Requeue" }).click();
    await expect(row).toHaveCount(0, { timeout: 20_000 });

    // The audit row of that requeue names a long target: it wraps inside its cell instead of widening the page.
    await page.goto("/audit");
    const target = page.getByTestId("audit-table").locator("td.audit-target").filter({ hasText: pk }).first();
    await expect(target).toBeVisible();
    await expectNoPageScroll(page);
    const fits = await target.evaluate((td) => ({
      lines: td.getClientRects()[0]?.height ?? 0,
      font: parseFloat(getComputedStyle(td).lineHeight) || 16,
      overflow: td.scrollWidth - td.clientWidth,
    }));
    expect(fits.overflow).toBeLessThanOrEqual(0);
    expect(fits.lines).toBeGreaterThan(fits.font * 1.5);
    await shots(page, testInfo, "audit");
  });

  test("the favicon is the console's own file and no page fetches anything from elsewhere", async ({
    page,
    baseURL,
  }) => {
    const foreign: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(baseURL ?? "") && !r.url().startsWith("data:")) foreign.push(r.url());
    });
    await page.goto("/");
    const href = await page.locator('link[rel="icon"]').first().getAttribute("href");
    expect(href).toMatch(/^\/icon\.svg/);
    const icon = await page.request.get(href ?? "");
    expect(icon.status()).toBe(200);
    expect(icon.headers()["content-type"]).toContain("image/svg+xml");
    await page.goto("/dlq");
    await page.goto("/builds");
    expect(foreign).toEqual([]);
  });
});

test.describe("6. honest liveness", () => {
  test("offline, the indicator turns and the data is marked stale; back online, it is live again", async ({
    page,
    context,
  }, testInfo) => {
    await page.goto("/");
    const indicator = page.getByTestId("live-indicator");
    await expect(indicator).toHaveAttribute("data-live", "live");
    await expect(page.getByTestId("live-label")).toHaveText("Live");

    await context.setOffline(true);
    await expect(indicator).toHaveAttribute("data-live", "offline");
    await expect(page.getByTestId("live-label")).toHaveText("Offline");
    const banner = page.getByTestId("live-banner");
    await expect(banner).toContainText(/You are offline\. What you see is from \d\d:\d\d:\d\d/);
    await expect(banner).toHaveAttribute("data-stale", "true");
    // The data on screen is drawn as stale.
    const cards = page.locator(".cards").first();
    expect(Number(await cards.evaluate((el) => getComputedStyle(el).opacity))).toBeLessThan(1);
    await shots(page, testInfo, "offline");

    await context.setOffline(false);
    await expect(indicator).toHaveAttribute("data-live", "live");
    await expect(banner).toHaveCount(0);
  });

  test("when refreshes fail, the page says so and since when; when they succeed again, it is live", async ({
    page,
  }, testInfo) => {
    await page.goto("/workers");
    const indicator = page.getByTestId("live-indicator");
    await expect(indicator).toHaveAttribute("data-live", "live");

    await page.route("**/api/trpc/**", (route) => route.fulfill({ status: 500, body: "down for the test" }));
    await expect(indicator).toHaveAttribute("data-live", "failing");
    await expect(page.getByTestId("live-label")).toHaveText("Refresh failing");
    const banner = page.getByTestId("live-banner");
    await expect(banner).toContainText(/Refreshing failed.*What you see is from \d\d:\d\d:\d\d/);
    await expect(banner).toHaveAttribute("data-stale", "true");
    // The workers table is still there (the last good data), marked stale.
    await expect(page.getByTestId("workers-table")).toBeVisible();
    await shots(page, testInfo, "refresh-failing");

    await page.unroute("**/api/trpc/**");
    // The database check asks every 15 s: the last of the failed queries to succeed again.
    await expect(indicator).toHaveAttribute("data-live", "live", { timeout: 30_000 });
    await expect(banner).toHaveCount(0);
  });

  test("a control pauses every live refresh and resumes it", async ({ page }, testInfo) => {
    // Counts the console's calls as the page makes them, and a fake clock runs its timers on demand.
    await page.addInitScript(() => {
      const w = window as unknown as { __trpcCalls: number };
      w.__trpcCalls = 0;
      const original = window.fetch.bind(window);
      window.fetch = (input, init) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (url.includes("/api/trpc/")) w.__trpcCalls++;
        return original(input, init);
      };
    });
    await page.clock.install();
    const calls = () => page.evaluate(() => (window as unknown as { __trpcCalls: number }).__trpcCalls);
    const topic = `e2e.ui.paused.${runId()}`;

    await page.goto("/");
    const indicator = page.getByTestId("live-indicator");
    await expect(indicator).toHaveAttribute("data-live", "live");
    // Live: the overview asks again as time passes.
    const before = await calls();
    await page.clock.runFor(5_000);
    await expect.poll(calls).toBeGreaterThan(before);

    await indicator.getByRole("button", { name: "Pause live refresh" }).click();
    await expect(indicator).toHaveAttribute("data-live", "paused");
    await expect(page.getByTestId("live-banner")).toContainText("Live refresh is paused since");
    await queue.publisher.publish(topic, [{ id: "p1", partitionKey: "k", payload: "{}" }]);
    const paused = await calls();
    await page.clock.runFor(20_000);
    expect(await calls()).toBe(paused);
    await expect(page.locator(`tr[data-topic="${topic}"]`)).toHaveCount(0);
    await shots(page, testInfo, "paused");

    await indicator.getByRole("button", { name: "Resume live refresh" }).click();
    await expect(indicator).toHaveAttribute("data-live", "live");
    await page.clock.runFor(5_000);
    await expect(page.locator(`tr[data-topic="${topic}"]`)).toBeVisible();
    expect(await calls()).toBeGreaterThan(paused);
  });
});

test.describe("7. keyboard and focus", () => {
  test("a skip link leads past the navigation to the page", async ({ page }, testInfo) => {
    await page.goto("/topics");
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to content" });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await shots(page, testInfo, "skip-link");
    await page.keyboard.press("Enter");
    await expect(page.locator("main#main")).toBeFocused();
  });

  test("the DLQ detail takes focus when it opens and gives it back to its row when it closes; purge asks with focus on Keep", async ({
    page,
  }, testInfo) => {
    test.setTimeout(90_000);
    const run = runId();
    const id = `focus-${run}`;
    await deadLetter(UI, id, `focus flow failure (${run})`);
    await page.goto(`/dlq?topic=e2e.ui_dlq&q=${run}`);
    const link = page.locator(`tr[data-message-id="${id}"]`).getByRole("link", { name: id });
    await link.focus();
    await page.keyboard.press("Enter");
    const detail = page.getByTestId("dlq-detail");
    await expect(detail).toBeFocused();
    await expect(detail.getByTestId("dlq-detail-reason")).toHaveText(`focus flow failure (${run})`);
    await shots(page, testInfo, "dlq-detail");
    await page.keyboard.press("Escape");
    await expect(detail).toHaveCount(0);
    await expect(link).toBeFocused();

    await link.click();
    await expect(detail).toBeFocused();
    await detail.getByRole("button", { name: "Close" }).click();
    await expect(detail).toHaveCount(0);
    await expect(link).toBeFocused();

    // The purge confirmation opens on its safe choice; leaving it returns to the button.
    const purge = page.getByRole("button", { name: "Purge matching…" });
    await purge.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByRole("button", { name: "Keep them" })).toBeFocused();
    await expect(dialog).toContainText("Delete 1 message from e2e.ui_dlq?");
    await shots(page, testInfo, "purge-confirm");
    await page.keyboard.press("Enter");
    await expect(dialog).toHaveCount(0);
    await expect(purge).toBeFocused();
    expect(await queue.inspect.countDlq({ topic: "e2e.ui_dlq", search: id })).toBe(1);
  });

  test("cancelling a build asks with focus on Keep it running, and Keep returns focus to Cancel", async ({
    page,
  }, testInfo) => {
    test.setTimeout(90_000);
    await page.goto("/builds/new");
    await page.getByLabel("Queue", { exact: true }).fill("e2e-long");
    await page.getByLabel("Head changes").fill("github://acme/app/pull/13/focus");
    await page.getByRole("button", { name: "Trigger build" }).click();
    await page.waitForURL((url) => /^\/builds\/(?!new$|batch\/)[^/]+$/.test(url.pathname), { timeout: 45_000 });

    const cancel = page.getByRole("button", { name: "Cancel build" });
    await cancel.focus();
    await page.keyboard.press("Enter");
    const keep = page.getByRole("button", { name: "Keep it running" });
    await expect(keep).toBeFocused();
    await shots(page, testInfo, "cancel-confirm");
    await page.keyboard.press("Enter");
    await expect(cancel).toBeFocused();

    // Not left running for two minutes. The command runner stops it within
    // moments, and a finished build drops its cancel control (and the note
    // under it), so the outcome to wait for is the status itself.
    await cancel.click();
    await page.getByRole("button", { name: "Yes, cancel build" }).click();
    await expect(page.getByTestId("build-status")).toHaveText("cancelled", { timeout: 45_000 });
  });
});

test.describe("8. small truths", () => {
  test("Deferred's time left and visible at agree, even when the browser's clock is 20 minutes off", async ({
    page,
  }, testInfo) => {
    const topic = `e2e.ui.deferred.${runId()}`;
    await queue.publisher.publishAfter(topic, { id: "in-ten", partitionKey: "k", payload: "{}" }, 600_000);
    await page.clock.install({ time: Date.now() + 20 * 60_000 });
    await page.goto(`/deferred?topic=${topic}`);
    const row = page.locator('tr[data-message-id="in-ten"]');
    await expect(row.locator('[data-col="time-left"]')).toHaveText(/^(9|10) min \d\d s$/);
    // Shown once the page is hydrated (the browser's clock, not the server's).
    await expect(row.locator('[data-col="visible-at"] time')).toHaveAttribute("datetime", /.+/);
    const seen = await row.evaluate((tr) => {
      const left = Number(tr.querySelector(".countdown")?.getAttribute("data-remaining-ms"));
      const at = tr.querySelector('[data-col="visible-at"] time');
      const deadline = Date.parse(at?.getAttribute("datetime") ?? "");
      const d = new Date(deadline);
      const pad = (n: number) => String(n).padStart(2, "0");
      return {
        left,
        gap: deadline - (Date.now() + left),
        text: at?.textContent,
        expected: `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
      };
    });
    // Now plus the time left is the time shown, on the browser's own (skewed) clock.
    expect(Math.abs(seen.gap)).toBeLessThan(1_000);
    expect(seen.left).toBeGreaterThan(540_000);
    expect(seen.text).toBe(seen.expected);
    await shots(page, testInfo, "deferred");
  });

  test("the trigger form names the signed-in user as requester, as the build page does", async ({ page }) => {
    test.setTimeout(90_000);
    await page.goto("/builds/new");
    await expect(page.getByTestId("requester")).toHaveText("e2e-operator");
    await page.getByLabel("Queue", { exact: true }).fill("e2e-fail");
    await page.getByLabel("Head changes").fill("github://acme/app/pull/13/requester");
    await page.getByRole("button", { name: "Trigger build" }).click();
    await page.waitForURL((url) => /^\/builds\/(?!new$|batch\/)[^/]+$/.test(url.pathname), { timeout: 45_000 });
    await expect(page.locator("dt", { hasText: "Requested by" }).locator("+ dd")).toHaveText("e2e-operator");
  });

  test("an unknown state or group in a topic's address is answered in a sentence", async ({ page }, testInfo) => {
    // The topic, and the test consumer's group e2e on it, exist whatever ran before.
    const id = `ui-address-${runId()}`;
    await queue.publisher.publish(UI, [{ id, partitionKey: "ui", payload: json({}) }]);
    await expect.poll(() => consumedIds(UI).includes(id), { timeout: 60_000 }).toBe(true);
    await page.goto(`/topics/${UI}?state=bogus&group=nobody`);
    await expect(page.getByTestId("unknown-state")).toHaveText(
      "“bogus” is not a message state; showing all messages. The states are ready, in flight, retrying, deferred, done, dead.",
    );
    await expect(page.getByTestId("unknown-group")).toHaveText(
      `No consumer group named “nobody” reads ${UI}; showing group e2e instead.`,
    );
    await expect(page.getByRole("tab", { name: "All" })).toHaveAttribute("aria-selected", "true");
    await expect(page.getByText("Could not load the messages")).toHaveCount(0);
    await expect(page.getByRole("region", { name: "Messages" })).toBeVisible();
    await shots(page, testInfo, "unknown-address");
    // Moving on leaves the wrong parts behind.
    await page.getByRole("tab", { name: "Retrying" }).click();
    await expect(page).toHaveURL(/\/topics\/e2e\.ui\?state=retrying$/);
    await expect(page.getByTestId("unknown-state")).toHaveCount(0);
    await expect(page.getByTestId("unknown-group")).toHaveCount(0);
  });

  test("the topic and queue filters match part of a name; a full name means that one", async ({ page }, testInfo) => {
    test.setTimeout(120_000);
    const run = runId();
    const [a, b, other] = [`e2e.uisub.a.${run}`, `e2e.uisub.b.${run}`, `e2e.uiother.${run}`];
    for (const topic of [a, b, other]) {
      await queue.publisher.publishAfter(topic, { id: `in-${topic}`, partitionKey: "k", payload: "{}" }, 3_600_000);
    }
    await page.goto("/deferred");
    await page.getByLabel("Topic").fill("UISUB");
    await page.getByRole("button", { name: "Filter", exact: true }).click();
    await expect(page).toHaveURL(/\/deferred\?topic=UISUB$/);
    const rows = page.getByTestId("deferred-table").locator("tbody tr");
    await expect(rows).toHaveCount(2);
    await expect(page.locator(`tr[data-message-id="in-${a}"]`)).toBeVisible();
    await expect(page.locator(`tr[data-message-id="in-${b}"]`)).toBeVisible();
    await expect(page.getByTestId("matched-topics")).toHaveText(`Topics containing “UISUB”: ${a}, ${b}`);
    await shots(page, testInfo, "deferred-substring");
    await page.goto(`/deferred?topic=${a}`);
    await expect(rows).toHaveCount(1);

    // Builds: this test makes its own in two queues (same-origin JSON, as the console sends it).
    for (const q of ["e2e-ok", "e2e-fail"]) {
      const res = await page.request.post("/api/trpc/builds.trigger", {
        headers: { origin: new URL(page.url()).origin },
        data: { json: { queue: q, head: [{ uris: [`github://acme/app/pull/9/${run}`] }] } },
      });
      expect(res.status()).toBe(200);
    }
    const queueCells = page.getByTestId("builds-table").locator("tbody tr td:nth-child(3)");
    await expect
      .poll(
        async () => {
          await page.goto("/builds?queue=E2E-");
          return new Set(await queueCells.allTextContents()).size;
        },
        { timeout: 60_000 },
      )
      .toBeGreaterThanOrEqual(2);
    const queues = await queueCells.allTextContents();
    for (const q of queues) expect(q.toLowerCase()).toContain("e2e-");
    await page.goto("/builds?queue=e2e-fail");
    const only = await page.getByTestId("builds-table").locator("tbody tr td:nth-child(3)").allTextContents();
    expect(new Set(only)).toEqual(new Set(["e2e-fail"]));
  });

  test("a dead letter's row is a real link: opened in a new tab, it shows that letter", async ({
    page,
    context,
  }, testInfo) => {
    test.setTimeout(90_000);
    const run = runId();
    const id = `tab-${run}`;
    await deadLetter(UI, id, `opened in a new tab (${run})`);
    await page.goto(`/dlq?topic=e2e.ui_dlq&q=${run}`);
    const link = page.locator(`tr[data-message-id="${id}"]`).getByRole("link", { name: id });
    const href = await link.getAttribute("href");
    expect(href).toMatch(/^\/dlq\?.*pk=ui.*&seq=\d+/);
    // A modifier click opens a new tab, as any link does.
    const [tab] = await Promise.all([context.waitForEvent("page"), link.click({ modifiers: ["ControlOrMeta"] })]);
    await tab.waitForLoadState();
    await expect(tab.getByTestId("dlq-detail").getByTestId("dlq-detail-reason")).toHaveText(
      `opened in a new tab (${run})`,
    );
    await shots(tab, testInfo, "dlq-new-tab");
    await tab.close();
    // This tab did not move.
    await expect(page.getByTestId("dlq-detail")).toHaveCount(0);
  });
});
