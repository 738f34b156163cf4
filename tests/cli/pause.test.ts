// sluice pause and resume as child processes against a real database: the
// group stops getting messages while another group of the topic goes on,
// both commands say what they did (--json), and each change is audited.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createQueue, type Queue } from "@/server/queue";
import { type CliRun, runSluice } from "@/tests/helpers/cli";
import { freshDatabase, type TestDatabase } from "@/tests/helpers/db";
import { take } from "@/tests/helpers/wait";

let db: TestDatabase;
let queue: Queue;

function sluice(...args: string[]): Promise<CliRun> {
  return runSluice({ DATABASE_URL: db.url }, args);
}

beforeAll(async () => {
  db = await freshDatabase("clipause");
  queue = createQueue({ url: db.url });
});
afterAll(async () => {
  await queue?.close();
  await db?.drop();
});

const subscribe = (topic: string, group: string) =>
  queue.subscriber.subscribe(topic, { subscriberName: `s-${group}`, consumerGroup: group, pollIntervalMs: 10 });

describe("sluice pause / resume", () => {
  it("pauses one group of a topic, audited, and resumes it", async () => {
    const topic = "cli.pause";
    await queue.publisher.publish(topic, { id: "warm", partitionKey: "k", payload: "x" });
    const a = subscribe(topic, "a");
    const b = subscribe(topic, "b");
    await Promise.all([take(a, 1), take(b, 1)]);

    const paused = await sluice("pause", "a", topic, "--json");
    expect(paused.code).toBe(0);
    const p = JSON.parse(paused.stdout) as { paused: boolean; pausedBy: string; changed: boolean };
    expect(p).toMatchObject({ paused: true, changed: true });
    expect(p.pausedBy).toMatch(/^cli:/);
    const again = await sluice("pause", "a", topic);
    expect(again.stdout).toMatch(/Already paused: group a on cli\.pause \(by cli:/);

    // b gets what is published now; a, paused, gets nothing until resumed.
    await queue.publisher.publish(topic, { id: "next", partitionKey: "k", payload: "x" });
    expect((await take(b, 1)).map((d) => d.message.id)).toEqual(["next"]);
    const [aRows] = await db.sql<{ n: number }>(
      "SELECT COUNT(*) AS n FROM queue_deliveries WHERE topic = ? AND consumer_group = 'a'",
      [topic],
    );
    expect(Number(aRows?.n)).toBe(1);

    const resumed = await sluice("resume", "a", topic);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("Resumed group a on cli.pause.");
    expect((await take(a, 1)).map((d) => d.message.id)).toEqual(["next"]);

    const audit = await db.sql<{ action: string; count: number; target: string }>(
      "SELECT action, count, target FROM audit_log WHERE action IN ('queue.pause', 'queue.resume') ORDER BY id",
    );
    const target = JSON.stringify({ group: "a", topic });
    expect(audit).toEqual([
      { action: "queue.pause", count: 1, target },
      { action: "queue.pause", count: 0, target },
      { action: "queue.resume", count: 1, target },
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses an unknown group (exit 1) and a missing argument (exit 2)", async () => {
    const unknown = await sluice("pause", "nobody", "cli.pause");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no consumer group nobody on cli.pause");
    expect((await sluice("resume", "a")).code).toBe(2);
  });
});
