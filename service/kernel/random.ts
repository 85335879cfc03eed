/** A uniform number in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: 32-bit state, fast, and the same sequence on every platform, which is what byte-identical
 * output (the demo city) and reproducible property tests need (Math.random cannot be seeded).
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
