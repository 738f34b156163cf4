import { expect, test } from "@playwright/test";

test("the console shell: every area in the navigation, the current one marked, the database status in its footer", async ({
  page,
}, testInfo) => {
  await page.goto("/");
  await expect(page).toHaveTitle(/Sluice/);
  const nav = page.getByRole("navigation", { name: "Console" });
  await expect(nav.getByRole("link")).toHaveText([
    "Sluice",
    "Overview",
    "Topics",
    "Deferred",
    "DLQ",
    "Builds",
    "Workers",
    "Audit",
  ]);
  await expect(nav.getByRole("link", { name: "Overview" })).toHaveAttribute("aria-current", "page");
  // The status pill is checked from the browser, and says so once the answer is in.
  await expect(nav.getByRole("status")).toContainText("Database reachable");

  await nav.getByRole("link", { name: "Builds" }).click();
  await expect(page).toHaveURL(/\/builds$/);
  await expect(nav.getByRole("link", { name: "Builds" })).toHaveAttribute("aria-current", "page");
  await expect(nav.getByRole("link", { name: "Overview" })).not.toHaveAttribute("aria-current", "page");

  const screenshot = await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
  await testInfo.attach("home", { body: screenshot, contentType: "image/png" });
});

test("the health route and the tRPC health.ping answer", async ({ request }) => {
  const health = await request.get("/api/health");
  expect(health.status()).toBe(200);
  expect(await health.json()).toEqual({ ok: true });

  const ready = await request.get("/api/ready");
  expect(ready.status()).toBe(200);
  expect(await ready.json()).toEqual({ ready: true });

  const metrics = await request.get("/api/metrics");
  expect(metrics.status()).toBe(200);
  expect(metrics.headers()["content-type"]).toContain("text/plain");
  expect(await metrics.text()).toMatch(/^# HELP sluice_builds Builds by status\.$/m);

  const ping = await request.get("/api/trpc/health.ping");
  expect(ping.status()).toBe(200);
  const body = await ping.json();
  // superjson: the value under json, and the Date noted in meta.
  expect(body.result.data.json).toMatchObject({ ok: true, database: { reachable: true } });
  expect(body.result.data.meta.values.time).toEqual(["Date"]);
});
