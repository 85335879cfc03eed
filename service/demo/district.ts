import { CellHeap } from './heap';
import { createLattice, DI, DJ, type Lattice } from './lattice';
import { createRandom, deriveSeed } from './random';

/** Around Chengdu's centre; any plausible place in China would do. */
const CENTRE: [number, number] = [104.06, 30.66];
/** Harmonics of the outline: a few lobes make it look like a district, not a circle. */
const HARMONICS = [2, 3, 4, 5, 6];

export interface District {
  lattice: Lattice;
  /** The district's cells, one per governance grid, ascending (reading order). */
  cells: number[];
}

/**
 * A district of exactly `count` lattice cells with a noisy star-shaped outline: cells are taken best-first
 * by their distance from the centre relative to a random radius function, growing from the centre cell, so
 * the district is 4-connected. Lattice cells on the lattice border are never taken, so every district cell
 * has a neighbour cell on all four sides (the "outside" defect draws into one).
 */
export function createDistrict(seed: number, count: number): District {
  const random = createRandom(deriveSeed(seed, 'district'));
  const amplitudes = HARMONICS.map((k) => (0.1 + 0.4 * random()) / k);
  const phases = HARMONICS.map(() => random() * 2 * Math.PI);
  const radius = Math.sqrt(count / Math.PI);
  const half = Math.ceil(radius * 1.6) + 3;
  const size = 2 * half + 1;
  const lattice = createLattice(random, size, size, CENTRE);
  const relative = (c: number) => {
    const x = (c % size) - half;
    const y = half - Math.floor(c / size);
    const theta = Math.atan2(y, x);
    let r = 1;
    HARMONICS.forEach((k, h) => (r += amplitudes[h] * Math.cos(k * theta + phases[h])));
    return (Math.hypot(x, y) / r) * (1 + 0.1 * (random() - 0.5));
  };

  const taken = new Uint8Array(size * size);
  const heap = new CellHeap();
  const start = half * size + half;
  taken[start] = 1;
  heap.push(start, 0);
  const cells: number[] = [];
  while (cells.length < count) {
    if (heap.size === 0) throw new RangeError(`cannot grow a district of ${count} cells on a ${size}×${size} lattice`);
    const c = heap.pop().item;
    cells.push(c);
    for (let d = 0; d < 4; d++) {
      const i = (c % size) + DI[d];
      const j = Math.floor(c / size) + DJ[d];
      const n = j * size + i;
      if (i < 1 || j < 1 || i >= size - 1 || j >= size - 1 || taken[n]) continue;
      taken[n] = 1;
      heap.push(n, relative(n));
    }
  }
  return { lattice, cells: cells.sort((a, b) => a - b) };
}
