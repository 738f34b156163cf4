import { expect, test } from "@playwright/test";

test("the home page names Sluice, says the console is coming and shows the database as reachable", async ({
  page,
}, testInfo) => {
  await page.goto("/");
  await expect(page).toHaveTitle("Sluice");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Sluice");
  await expect(page.getByText("The operator console is coming")).toBeVisible();
  await expect(page.getByRole("status")).toContainText("Database reachable");

  const screenshot = await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
  await testInfo.attach("home", { body: screenshot, contentType: "image/png" });
});

test("the health route and the tRPC health.ping answer", async ({ request }) => {
  const health = await request.get("/api/health");
  expect(health.status()).toBe(200);
  expect(await health.json()).toEqual({ ok: true });

  const ping = await request.get("/api/trpc/health.ping");
  expect(ping.status()).toBe(200);
  const body = await ping.json();
  // superjson: the value under json, and the Date noted in meta.
  expect(body.result.data.json).toMatchObject({ ok: true, database: { reachable: true } });
  expect(body.result.data.meta.values.time).toEqual(["Date"]);
});
