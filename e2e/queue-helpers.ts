// The queue tests' side of the e2e run: a Queue on the run's database for
// publishing and checking (the same library the console calls), the test
// consumer's record of what it consumed, and its heal switches.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { expect, type Page, type TestInfo } from "@playwright/test";
import { createQueue, type Queue } from "@/server/queue";
import { type ConsumedEntry, consumedLog, e2eDatabaseUrl, e2eQueueDir, healFile } from "./env";

export function openQueue(): Queue {
  return createQueue({ url: e2eDatabaseUrl(), connectionLimit: 4 });
}

/** What the test consumer has acked so far in `topic`. */
export function consumed(topic: string): ConsumedEntry[] {
  const file = consumedLog(e2eQueueDir());
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ConsumedEntry)
    .filter((e) => e.topic === topic);
}

export function consumedIds(topic: string): string[] {
  return consumed(topic).map((e) => e.id);
}

/** From now on the test consumer acks messages whose payload names this heal key (or id). */
export function heal(key: string): void {
  writeFileSync(healFile(e2eQueueDir(), key), "");
}

/**
 * Registers a consumer group on `topic` that never consumes: it is paused
 * before anything is published, and its subscriber leaves. Garbage
 * collection deletes only rows every group of a topic has passed, so the
 * worker's periodic run (every 30 s in the e2e web server) cannot take the
 * messages a test reads after its own group finished them. Call it before
 * publishing.
 */
export async function keepMessages(queue: Queue, topic: string): Promise<void> {
  const keeper = queue.subscriber.subscribe(topic, {
    subscriberName: "e2e-keeper",
    consumerGroup: "e2e-keeper",
    pollIntervalMs: 50,
  });
  // The first next() registers the group; it waits for a delivery that never comes.
  const waiting = keeper[Symbol.asyncIterator]().next();
  await expect(() => queue.admin.pauseGroup("e2e-keeper", topic, { by: "e2e" })).toPass({ timeout: 15_000 });
  await keeper.close();
  const r = await waiting;
  if (!r.done) throw new Error(`the keeper group was handed ${r.value.message.id}`);
}

/** A short suffix that keeps one run's ids apart from another's (reruns against a kept database). */
export const runId = () => Date.now().toString(36);

/** The screenshot every flow leaves in the test artifacts. */
export async function screenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const body = await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
  await testInfo.attach(name, { body, contentType: "image/png" });
}
