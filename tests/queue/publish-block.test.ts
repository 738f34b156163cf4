// A lone publish goes to MariaDB as one compound statement (BEGIN NOT
// ATOMIC … END): the head bump, the row, the traffic count and COMMIT in one
// statement, answered by one packet. What it must keep: seqs that follow the
// head from one publish to the next, and nothing half written when a
// statement inside it fails.
import { describe, expect, it } from "vitest";
import type { LogRow } from "@/server/queue/log";
import { PublishBatcher } from "@/server/queue/publish-batcher";
import { queueSuite } from "@/tests/helpers/queue-suite";

const suite = queueSuite("publishblock");

const row = (topic: string, id: string): LogRow => ({
  topic,
  partitionKey: "k",
  messageId: id,
  origin: "",
  payload: Buffer.from(id),
  metadata: undefined,
  delayMs: 0,
});

const batcher = () => new PublishBatcher(suite.raw, 1000, 1 << 20);

async function stored(topic: string) {
  const rows = await suite.db.sql<{ message_id: string; seq: number }>(
    "SELECT message_id, seq FROM queue_messages WHERE topic = ? ORDER BY seq",
    [topic],
  );
  const heads = await suite.db.sql<{ head_seq: number }>("SELECT head_seq FROM queue_partitions WHERE topic = ?", [
    topic,
  ]);
  const traffic = await suite.db.sql<{ n: number }>(
    "SELECT COALESCE(SUM(published), 0) AS n FROM queue_traffic WHERE topic = ? AND consumer_group = ''",
    [topic],
  );
  return {
    rows: rows.map((r) => [r.message_id, Number(r.seq)]),
    head: heads.map((h) => Number(h.head_seq))[0],
    published: Number(traffic[0]?.n),
  };
}

describe("a lone publish", () => {
  it("is one statement, and its row, head and traffic count commit together", async () => {
    const b = batcher();
    await b.append([row("pb.one", "warm")], 4);
    const before = suite.raw.statements();
    await b.append([row("pb.one", "m1")], 2);
    expect(suite.raw.statements() - before).toBe(1);
    expect(await stored("pb.one")).toEqual({
      rows: [
        ["warm", 1],
        ["m1", 2],
      ],
      head: 2,
      published: 2,
    });
  });

  it("takes the seq after the head each time", async () => {
    const b = batcher();
    for (const id of ["a", "b", "c"]) await b.append([row("pb.seq", id)], 1);
    expect(await stored("pb.seq")).toEqual({
      rows: [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ],
      head: 3,
      published: 3,
    });
  });

  it("that fails midway writes nothing, and the next one starts clean", async () => {
    const b = batcher();
    // The traffic count is the last statement before COMMIT: the head bump and the row ran before it failed.
    await suite.db.sql("RENAME TABLE queue_traffic TO queue_traffic_away");
    try {
      await expect(b.append([row("pb.fail", "lost")], 4)).rejects.toMatchObject({ errno: 1146 });
    } finally {
      await suite.db.sql("RENAME TABLE queue_traffic_away TO queue_traffic");
    }
    expect(await stored("pb.fail")).toEqual({ rows: [], head: undefined, published: 0 });
    await b.append([row("pb.fail", "kept")], 4);
    expect(await stored("pb.fail")).toEqual({ rows: [["kept", 1]], head: 1, published: 1 });
  });
});
