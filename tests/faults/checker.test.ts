// The checker catches each kind of broken promise on hand-made records.
import { describe, expect, it } from "vitest";
import { check } from "@/faults/checker";
import type { DeliveryRecord, PublishRecord } from "@/faults/types";

function pub(id: string, order: number, acked = true, partitionKey = "k0", publisher = "p1"): PublishRecord {
  return { topic: "t", partitionKey, id, order, publisher, acked };
}

function streams() {
  const n = new Map<string, number>();
  return (group: string, consumer: string, id: string, seq: number, partitionKey = "k0"): DeliveryRecord => {
    const next = (n.get(consumer) ?? 0) + 1;
    n.set(consumer, next);
    return { group, topic: "t", partitionKey, id, seq, consumer, n: next };
  };
}

describe("check", () => {
  it("passes a clean run in two groups", () => {
    const d = streams();
    const r = check({
      publishes: [pub("a", 1), pub("b", 2)],
      deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "b", 2), d("g2", "c2", "a", 1), d("g2", "c2", "b", 2)],
      groups: ["g1", "g2"],
      allowedDuplicates: 0,
    });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.groups.map((g) => [g.group, g.expected, g.delivered])).toEqual([
      ["g1", 2, 2],
      ["g2", 2, 2],
    ]);
  });

  it("finds an acknowledged publish a group never got", () => {
    const d = streams();
    const r = check({
      publishes: [pub("a", 1), pub("b", 2)],
      deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "b", 2), d("g2", "c2", "a", 1)],
      groups: ["g1", "g2"],
      allowedDuplicates: 0,
    });
    expect(r.ok).toBe(false);
    expect(r.groups.find((g) => g.group === "g2")?.lost).toBe(1);
    expect(r.problems.join("\n")).toMatch(/g2.*never delivered: b/);
  });

  it("finds a delivery nobody published", () => {
    const d = streams();
    const r = check({
      publishes: [pub("a", 1)],
      deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "ghost", 2)],
      groups: ["g1"],
      allowedDuplicates: 0,
    });
    expect(r.ok).toBe(false);
    expect(r.groups[0]?.unexpected).toBe(1);
    expect(r.problems.join("\n")).toMatch(/ghost/);
  });

  it("allows duplicates up to the faults' budget and no more", () => {
    const d = streams();
    const deliveries = [d("g1", "c1", "a", 1), d("g1", "c2", "a", 1), d("g1", "c2", "b", 2), d("g1", "c3", "b", 2)];
    const input = { publishes: [pub("a", 1), pub("b", 2)], deliveries, groups: ["g1"] };
    expect(check({ ...input, allowedDuplicates: 2 }).ok).toBe(true);
    const tight = check({ ...input, allowedDuplicates: 1 });
    expect(tight.ok).toBe(false);
    expect(tight.groups[0]?.duplicated).toBe(2);
    expect(tight.problems.join("\n")).toMatch(/2 duplicate deliveries, more than the 1/);
  });

  it("finds a consumer's stream going back in seq, but not a redelivery", () => {
    const d = streams();
    const publishes = [pub("a", 1), pub("b", 2), pub("c", 3)];
    const redelivered = check({
      publishes,
      deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "b", 2), d("g1", "c1", "b", 2), d("g1", "c1", "c", 3)],
      groups: ["g1"],
      allowedDuplicates: 1,
    });
    expect(redelivered.ok).toBe(true);

    const e = streams();
    const swapped = check({
      publishes,
      deliveries: [e("g1", "c1", "a", 1), e("g1", "c1", "c", 3), e("g1", "c1", "b", 2)],
      groups: ["g1"],
      allowedDuplicates: 0,
    });
    expect(swapped.ok).toBe(false);
    expect(swapped.groups[0]?.orderViolations).toBe(1);
  });

  it("finds a publisher's later publish with a lower seq", () => {
    const d = streams();
    // Each consumer's stream is in order, yet p1's second publish got the lower seq.
    const r = check({
      publishes: [pub("x1", 1), pub("x2", 2)],
      deliveries: [d("g1", "c1", "x2", 1), d("g1", "c2", "x1", 2)],
      groups: ["g1"],
      allowedDuplicates: 0,
    });
    expect(r.ok).toBe(false);
    expect(r.groups[0]?.orderViolations).toBe(1);
    expect(r.problems.join("\n")).toMatch(/x2 \(order 2\) got seq 1/);
  });

  it("keeps partitions and publishers apart when judging order", () => {
    const d = streams();
    const r = check({
      publishes: [
        pub("p1-k0-1", 1, true, "k0", "p1"),
        pub("p2-k0-1", 1, true, "k0", "p2"),
        pub("p1-k1-1", 1, true, "k1"),
      ],
      deliveries: [d("g1", "c1", "p2-k0-1", 1), d("g1", "c1", "p1-k1-1", 1, "k1"), d("g1", "c1", "p1-k0-1", 2)],
      groups: ["g1"],
      allowedDuplicates: 0,
    });
    expect(r.problems).toEqual([]);
  });

  describe("an unacknowledged publish", () => {
    const publishes = [pub("a", 1), pub("u", 2, false)];

    it("is expected when its row was stored", () => {
      const d = streams();
      const missed = check({
        publishes,
        deliveries: [d("g1", "c1", "a", 1)],
        groups: ["g1"],
        allowedDuplicates: 0,
        storedIds: new Set(["a", "u"]),
      });
      expect(missed.ok).toBe(false);
      expect(missed.groups[0]?.lost).toBe(1);
      expect(missed.problems.join("\n")).toMatch(/never delivered: u/);
    });

    it("is not expected when it was never stored", () => {
      const d = streams();
      const r = check({
        publishes,
        deliveries: [d("g1", "c1", "a", 1)],
        groups: ["g1"],
        allowedDuplicates: 0,
        storedIds: new Set(["a"]),
      });
      expect(r.ok).toBe(true);
      expect(r.groups[0]?.expected).toBe(1);
    });

    it("counts as existing once any group got it, so every group must", () => {
      const d = streams();
      const r = check({
        publishes,
        deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "u", 2), d("g2", "c2", "a", 1)],
        groups: ["g1", "g2"],
        allowedDuplicates: 0,
      });
      expect(r.ok).toBe(false);
      expect(r.groups.find((g) => g.group === "g1")?.unexpected).toBe(0);
      expect(r.groups.find((g) => g.group === "g2")?.lost).toBe(1);
    });

    it("is a duplicate when delivered twice", () => {
      const d = streams();
      const r = check({
        publishes,
        deliveries: [d("g1", "c1", "a", 1), d("g1", "c1", "u", 2), d("g1", "c2", "u", 2)],
        groups: ["g1"],
        allowedDuplicates: 0,
        storedIds: new Set(["a", "u"]),
      });
      expect(r.ok).toBe(false);
      expect(r.groups[0]?.duplicated).toBe(1);
    });

    it("merges with its acked line: attempt then ack is one acked publish", () => {
      const r = check({
        publishes: [pub("a", 1, false), pub("a", 1, true)],
        deliveries: [],
        groups: ["g1"],
        allowedDuplicates: 0,
        storedIds: new Set(),
      });
      expect(r.groups[0]?.lost).toBe(1);
    });
  });
});
