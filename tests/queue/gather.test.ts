// The gathering under settles, publishes and the pipeline's polls: the first
// flush takes every item made before the event loop's check phase, however
// many promise hops each took to be made (the handlers a fetch wakes get their
// deliveries one hop after another); items made while a flush is in flight go
// together in the next one, and so do the items the callers a flush released
// make in their promise callbacks.
import { describe, expect, it } from "vitest";
import { Gatherer, togetherOrAlone, type Waiting } from "@/server/queue";
import { signal, until } from "@/tests/helpers/wait";

async function hops(n: number) {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

function recorder() {
  const flushes: string[][] = [];
  const gate = { open: signal(), held: false };
  const gatherer = new Gatherer<string>(
    async (batch: Waiting<string>[]) => {
      flushes.push(batch.map((w) => w.item));
      if (gate.held) await gate.open.promise;
      for (const w of batch) w.resolve();
    },
    (waiting) => waiting.length,
  );
  return { flushes, gate, gatherer };
}

describe("gatherer", () => {
  it("puts items made many promise hops apart in the same turn into the first flush", async () => {
    const { flushes, gatherer } = recorder();
    await Promise.all([
      gatherer.add("a"),
      hops(3).then(() => gatherer.add("b")),
      hops(25).then(() => gatherer.add("c")),
    ]);
    expect(flushes).toEqual([["a", "b", "c"]]);
  });

  it("gathers what is made while a flush is in flight into the next flush, in order", async () => {
    const { flushes, gate, gatherer } = recorder();
    gate.held = true;
    const first = gatherer.add("a");
    await new Promise((r) => setImmediate(r));
    expect(flushes).toEqual([["a"]]);
    const rest = [gatherer.add("b"), gatherer.add("c")];
    gate.held = false;
    gate.open.resolve();
    await Promise.all([first, ...rest]);
    expect(flushes).toEqual([["a"], ["b", "c"]]);
  });

  it("lets the callers a flush released add their next items to the flush that follows", async () => {
    const { flushes, gate, gatherer } = recorder();
    gate.held = true;
    // Two callers, each adding its next item some promise hops after its first is written:
    // the way ten handlers ack, take the next delivery and ack again.
    const caller = async (name: string, hopsToNext: number) => {
      await gatherer.add(`${name}1`);
      await hops(hopsToNext);
      await gatherer.add(`${name}2`);
    };
    const a = caller("a", 20);
    await new Promise((r) => setImmediate(r));
    const b = caller("b", 1);
    expect(flushes).toEqual([["a1"]]);
    gate.held = false;
    gate.open.resolve();
    await Promise.all([a, b]);
    // Started at once, the second flush would have taken b1 alone and a2 would have gone
    // with b2 in a third: the two callers out of step for good.
    expect(flushes).toEqual([["a1"], ["b1", "a2"], ["b2"]]);
  });

  it("with two flushes allowed in flight, sends the second at once and gathers the rest behind both", async () => {
    const flushes: string[][] = [];
    const gates: Array<ReturnType<typeof signal<void>>> = [];
    const gatherer = new Gatherer<string>(
      async (batch: Waiting<string>[]) => {
        flushes.push(batch.map((w) => w.item));
        const gate = signal<void>();
        gates.push(gate);
        await gate.promise;
        for (const w of batch) w.resolve();
      },
      (waiting) => waiting.length,
      2,
    );
    const a = gatherer.add("a");
    await new Promise((r) => setImmediate(r));
    const b = gatherer.add("b");
    await new Promise((r) => setImmediate(r));
    expect(flushes).toEqual([["a"], ["b"]]);
    const rest = [gatherer.add("c"), gatherer.add("d")];
    await new Promise((r) => setImmediate(r));
    expect(flushes).toHaveLength(2);
    gates[0]?.resolve();
    await a;
    await until(async () => flushes.length === 3 || undefined, "the third flush");
    expect(flushes[2]).toEqual(["c", "d"]);
    for (const g of gates) g.resolve();
    await Promise.all([b, ...rest]);
  });

  it("writes a batch alone, each entry in order, when writing it together fails; only the bad entry fails", async () => {
    const settled: string[] = [];
    const batch: Waiting<string, string>[] = ["a", "bad", "c"].map((item) => ({
      item,
      resolve: (v) => settled.push(`ok ${v}`),
      reject: (err) => settled.push(`failed ${(err as Error).message}`),
    }));
    const alone: string[] = [];
    const fallbacks: unknown[] = [];
    await togetherOrAlone(batch, {
      together: async () => {
        throw new Error("together");
      },
      alone: async (item) => {
        alone.push(item);
        await hops(item === "a" ? 5 : 0);
        if (item === "bad") throw new Error(item);
        return item.toUpperCase();
      },
      inOrder: true,
      onFallback: (err) => fallbacks.push(err),
    });
    expect(fallbacks).toHaveLength(1);
    expect(alone).toEqual(["a", "bad", "c"]);
    expect(settled).toEqual(["ok A", "failed bad", "ok C"]);
  });
});
