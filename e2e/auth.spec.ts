// Sign-in and roles in the browser: nobody gets past the sign-in page; a
// viewer sees the DLQ but cannot requeue, not even with a crafted request;
// an operator's requeue shows in the audit log; a cross-site form post is
// refused.
import { expect, test } from "@playwright/test";
import mysql from "mysql2/promise";
import type { Queue } from "@/server/queue";
import { E2E_USERS, type E2ePayload, e2eDatabaseUrl, storageStatePath } from "./env";
import { heal, openQueue, runId, screenshot } from "./queue-helpers";

let queue: Queue;
test.beforeAll(() => {
  queue = openQueue();
});
test.afterAll(async () => {
  await queue.close();
});

const TOPIC = "e2e.auth";
const DLQ = `${TOPIC}_dlq`;

/** Publishes a message the test consumer dead-letters at once; resolves once it is in the DLQ. */
async function deadLetter(id: string) {
  const payload: E2ePayload = { fail: `auth flow ${id}` };
  await queue.publisher.publish(TOPIC, [{ id, partitionKey: `auth-${id}`, payload: JSON.stringify(payload) }]);
  await expect
    .poll(() => queue.inspect.countDlq({ topic: DLQ, search: `auth flow ${id}` }), { timeout: 60_000 })
    .toBe(1);
  const [row] = (await queue.inspect.listDlq({ topic: DLQ, search: `auth flow ${id}` }, { limit: 1 })).rows;
  if (!row) throw new Error(`no dead letter for ${id}`);
  return { topic: DLQ, partitionKey: row.partitionKey, seq: row.seq };
}

test.describe("signed out", () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test("is sent to sign in, comes back after, and signs out", async ({ page }, testInfo) => {
    await page.goto("/dlq");
    await expect(page).toHaveURL(/\/signin\?next=%2Fdlq$/);
    await page.getByLabel("Username").fill(E2E_USERS.viewer.username);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("form", { name: "Sign in" }).getByRole("alert")).toHaveText(
      "wrong username or password",
    );

    await page.getByLabel("Password").fill(E2E_USERS.viewer.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/dlq$/);
    const box = page.getByTestId("user-box");
    await expect(box).toContainText(E2E_USERS.viewer.username);
    await expect(box).toContainText("viewer");
    await screenshot(page, testInfo, "signed-in-viewer");

    const cookie = (await page.context().cookies()).find((c) => c.name === "sluice_session");
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });

    await box.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin$/);
    await page.goto("/builds");
    await expect(page).toHaveURL(/\/signin\?next=%2Fbuilds$/);
  });

  test("cannot pick its own address for the sign-in limits with X-Forwarded-For", async ({ request, baseURL }) => {
    const username = `nobody-${runId()}`;
    const res = await request.post("/api/auth/signin", {
      headers: { origin: baseURL ?? "", "x-forwarded-for": "203.0.113.66" },
      data: { username, password: "wrong" },
    });
    expect(res.status()).toBe(401);
    const conn = await mysql.createConnection({ uri: e2eDatabaseUrl() });
    try {
      const [rows] = await conn.query("SELECT `key` FROM signin_throttle WHERE `key` IN (?, ?) ORDER BY `key`", [
        "address:127.0.0.1",
        "address:203.0.113.66",
      ]);
      expect(rows).toEqual([{ key: "address:127.0.0.1" }]);
    } finally {
      await conn.end();
    }
  });

  test("gets 401 from the API", async ({ request }) => {
    const res = await request.get("/api/trpc/dlq.topics");
    expect(res.status()).toBe(401);
  });
});

test.describe("viewer", () => {
  test.use({ storageState: storageStatePath("viewer") });

  test("sees the DLQ but no requeue works, not even a crafted request", async ({ page }, testInfo) => {
    test.setTimeout(90_000);
    const id = `viewer-${runId()}`;
    const address = await deadLetter(id);
    await page.goto(`/dlq?topic=${DLQ}`);
    const row = page.locator(`tr[data-message-id="${id}"]`);
    await expect(row).toBeVisible();
    await expect(row.getByRole("button", { name: "Requeue" })).toBeDisabled();
    await expect(page.getByRole("button", { name: /Requeue all matching/ })).toBeDisabled();
    await expect(page.getByRole("button", { name: "Purge matching…" })).toBeDisabled();
    // Each failure group's own requeue and purge too.
    const group = page.getByTestId("failure-groups").locator("li").first();
    await expect(group.getByRole("button", { name: /^Requeue the/ })).toBeDisabled();
    await expect(group.getByRole("button", { name: /^Purge the/ })).toBeDisabled();
    await row.getByRole("link", { name: id }).click();
    await expect(page.getByTestId("dlq-detail").getByRole("button", { name: "Requeue" })).toBeDisabled();
    await screenshot(page, testInfo, "viewer-dlq");

    // What a viewer could send by hand from this very page: same origin, JSON, their cookie.
    const answer = await page.evaluate(async (input) => {
      const res = await fetch("/api/trpc/dlq.requeueOne", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: input }),
      });
      return { status: res.status, body: await res.text() };
    }, address);
    expect(answer.status).toBe(403);
    expect(answer.body).toContain("FORBIDDEN");
    expect(await queue.inspect.countDlq({ topic: DLQ, search: `auth flow ${id}` })).toBe(1);
  });
});

test.describe("operator", () => {
  test("requeues a dead letter and finds it in the audit log", async ({ page }, testInfo) => {
    test.setTimeout(90_000);
    const id = `operator-${runId()}`;
    const address = await deadLetter(id);
    // The consumer's handler is "fixed": the requeued message is consumed, not dead-lettered again.
    heal(id);
    await page.goto(`/dlq?topic=${DLQ}`);
    await page.locator(`tr[data-message-id="${id}"]`).getByRole("link", { name: id }).click();
    await page.getByTestId("dlq-detail").getByRole("button", { name: "Requeue" }).click();
    await expect
      .poll(() => queue.inspect.countDlq({ topic: DLQ, search: `auth flow ${id}` }), { timeout: 20_000 })
      .toBe(0);

    await page.goto(`/audit?action=dlq.requeue&actor=${E2E_USERS.operator.username}`);
    const entry = page.getByTestId("audit-table").locator("tbody tr", { hasText: `"seq":${address.seq}` });
    await expect(entry).toContainText(E2E_USERS.operator.username);
    await expect(entry).toContainText("dlq.requeue");
    await expect(entry).toContainText(address.partitionKey);
    await expect(entry).toContainText("127.0.0.1");
    await screenshot(page, testInfo, "audit-log");

    // The filter by user: the viewer has changed nothing.
    await page.getByLabel("User").selectOption({ label: "Everyone" });
    await expect(page).toHaveURL(/\/audit\?action=dlq\.requeue$/);
  });

  test("a cross-site form post is refused, even with the operator's cookie", async ({ request }) => {
    const address = await deadLetter(`csrf-${runId()}`);
    const res = await request.post("/api/trpc/dlq.requeueOne", {
      headers: { origin: "http://evil.example" },
      form: { json: JSON.stringify(address) },
    });
    expect(res.status()).toBe(403);
    expect(await queue.inspect.countDlq({ topic: DLQ, search: `auth flow csrf-` })).toBeGreaterThanOrEqual(1);
  });
});
