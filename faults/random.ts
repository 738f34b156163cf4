// The random choices of traffic and faults: when to strike, whom, how much.

export function randomBetween(lo: number, hi: number): number {
  return lo + Math.random() * (hi - lo);
}

export function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

/** `n` different items in random order (all of them when there are fewer). */
export function pickDistinct<T>(items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length > 0) out.push(...pool.splice(Math.floor(Math.random() * pool.length), 1));
  return out;
}
