import { createRandom, type Random } from '../kernel/random';

export { createRandom, type Random };

/**
 * A seed for one purpose (FNV-1a over the labels, then a murmur3 finaliser). Each part of the city draws
 * from its own stream, so a change in one part never shifts another, and addresses can be drawn grid by grid
 * in any order.
 */
export function deriveSeed(seed: number, ...labels: (string | number)[]): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const label of labels) {
    const text = `|${label}`;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** An integer in [min, max], both included. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** Fisher–Yates, in place. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Splits `total` into integers proportional to `weights`, each at least `floor`, by rounding the running
 * sum (no sorting: this runs for every grid's addresses). Used wherever counts must add up exactly.
 */
export function apportion(total: number, weights: ArrayLike<number>, floor = 0): Int32Array {
  const n = weights.length;
  const spare = total - floor * n;
  if (spare < 0) throw new RangeError(`cannot give ${n} parts at least ${floor} each out of ${total}`);
  let sum = 0;
  for (let k = 0; k < n; k++) sum += weights[k];
  const parts = new Int32Array(n);
  let running = 0;
  let given = 0;
  for (let k = 0; k < n; k++) {
    running += sum > 0 ? weights[k] : 1;
    const upTo = k === n - 1 ? spare : Math.round((spare * running) / (sum > 0 ? sum : n));
    parts[k] = floor + upTo - given;
    given = upTo;
  }
  return parts;
}
